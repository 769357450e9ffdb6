using System.Text.Json;
using System.Text.Json.Nodes;

namespace Qwen.Server.Tests.Deploy;

/// <summary>
/// What `docker compose up` runs, read from the model validate.mjs prints (interpolated with no variables set and, with
/// the CUDA override, merged by compose's rules): the CPU demo by default, the GPU and a mounted model with the override,
/// Prometheus in the monitoring profile with either.
/// </summary>
public sealed class ComposeTests
{
    private static string Compose => Path.Combine(RepoRoot.Path, "docker-compose.yml");

    private static string CudaOverride => Path.Combine(RepoRoot.Path, "deploy", "docker-compose.cuda.yml");

    [Fact]
    public async Task Default_BuildsTheCpuImage_ReservesNoGpu_AndServesTheDemo()
    {
        var server = Service(await DeployValidator.ComposeModelAsync(Compose), "qwen-server");
        Assert.Equal("cpu", server.GetProperty("build").GetProperty("args").GetProperty("VARIANT").GetString());
        Assert.False(server.TryGetProperty("deploy", out _), "a GPU reservation makes `docker compose up` fail on a machine without one");
        Assert.Equal("demo", Environment(server)["QWEN_MODEL"]);
        // The demo is built into the cache volume, so a restart reuses it; no model directory is mounted.
        Assert.Equal(["qwen-cache:/cache"], Volumes(server));
    }

    [Fact]
    public async Task CudaOverride_BuildsTheCudaImage_ReservesAGpu_AndServesTheMountedModel()
    {
        var server = Service(await DeployValidator.ComposeModelAsync(Compose, CudaOverride), "qwen-server");
        Assert.Equal("cuda", server.GetProperty("build").GetProperty("args").GetProperty("VARIANT").GetString());
        Assert.Equal(".", server.GetProperty("build").GetProperty("context").GetString());
        var device = Assert.Single(server.GetProperty("deploy").GetProperty("resources").GetProperty("reservations").GetProperty("devices").EnumerateArray());
        Assert.Equal("nvidia", device.GetProperty("driver").GetString());
        Assert.Contains("gpu", device.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("/models/qwen", Environment(server)["QWEN_MODEL"]);
        // The model is mounted read-only where QWEN_MODEL points; the base file's cache volume stays.
        Assert.Equal(["qwen-cache:/cache", "./models/qwen2.5-7b-instruct-int4-cuda:/models/qwen:ro"], Volumes(server));
        Assert.Equal(["8000:8000"], server.GetProperty("ports").EnumerateArray().Select(p => p.GetString()!));
    }

    [Fact]
    public async Task MonitoringProfile_ScrapesTheServer_OnTheCpuAndTheCudaPath()
    {
        var scrapeConfig = await File.ReadAllTextAsync(Path.Combine(RepoRoot.Path, "deploy", "prometheus", "prometheus.yml"));
        foreach (var model in new[] { await DeployValidator.ComposeModelAsync(Compose), await DeployValidator.ComposeModelAsync(Compose, CudaOverride) })
        {
            var server = Service(model, "qwen-server");
            var prometheus = Service(model, "prometheus");
            Assert.False(server.TryGetProperty("profiles", out _), "the server must start without a profile");
            Assert.Equal(["monitoring"], prometheus.GetProperty("profiles").EnumerateArray().Select(p => p.GetString()!));
            Assert.Contains("qwen-server", prometheus.GetProperty("depends_on").EnumerateArray().Select(d => d.GetString()));
            // Prometheus reaches the service by its name on the container port.
            var containerPort = server.GetProperty("ports")[0].GetString()!.Split(':')[^1];
            Assert.Contains($"\"qwen-server:{containerPort}\"", scrapeConfig, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Merge_FollowsTheComposeSpecRules()
    {
        // The expected model is written from the compose-spec "Merge" section, not from validate.mjs: mappings merge key
        // by key (the later file wins), sequences append, command and healthcheck.test are replaced, volumes are unique by
        // target and ports by address, list-form environment is a mapping; ${VAR:-default} gives the default, $$ a $.
        var dir = Directory.CreateTempSubdirectory("qwen-compose-merge-").FullName;
        var first = Path.Combine(dir, "first.yml");
        var second = Path.Combine(dir, "second.yml");
        await File.WriteAllTextAsync(first, """
            services:
              app:
                image: ${APP_IMAGE:-busybox}
                hostname: first
                dns: [1.1.1.1]
                command: [echo, first]
                environment: [A=1, B=2]
                volumes: ["./a:/data", "cache:/cache"]
                ports: ["8080:80"]
                healthcheck: {test: [CMD, first], interval: 5s}
            volumes:
              cache:
            """);
        await File.WriteAllTextAsync(second, """
            services:
              app:
                image: alpine
                dns: [8.8.8.8]
                command: [echo, "$$HOME"]
                environment: {B: "3", C: null}
                volumes: ["./b:/data:ro"]
                ports: ["8080:80", "9090:90"]
                healthcheck: {test: [CMD, second]}
            """);
        var merged = await DeployValidator.ComposeModelAsync(first, second);
        var expected = JsonNode.Parse("""
            {"services":{"app":{
              "image":"alpine","hostname":"first","dns":["1.1.1.1","8.8.8.8"],"command":["echo","$HOME"],
              "environment":{"A":"1","B":"3","C":null},"volumes":["./b:/data:ro","cache:/cache"],"ports":["8080:80","9090:90"],
              "healthcheck":{"test":["CMD","second"],"interval":"5s"}}},
             "volumes":{"cache":null}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(merged.GetRawText())), merged.GetRawText());
        Assert.Equal("busybox", Service(await DeployValidator.ComposeModelAsync(first), "app").GetProperty("image").GetString());
    }

    private static JsonElement Service(JsonElement model, string name) => model.GetProperty("services").GetProperty(name);

    private static Dictionary<string, string?> Environment(JsonElement service)
        => service.GetProperty("environment").EnumerateObject().ToDictionary(v => v.Name, v => v.Value.GetString());

    private static IEnumerable<string> Volumes(JsonElement service) => service.GetProperty("volumes").EnumerateArray().Select(v => v.GetString()!);
}
