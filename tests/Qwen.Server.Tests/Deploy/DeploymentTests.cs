using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Qwen.Server.Hosting;
using Qwen.Server.Tests.Hosting;

namespace Qwen.Server.Tests.Deploy;

/// <summary>What can be tested of the deployment here: manifests against the Kubernetes schemas (unknown fields rejected), the compose files against the compose-spec schema, the ConfigMap's settings, and the image's publish step run with compose's environment.</summary>
public sealed class DeploymentTests
{
    private static string K8s => Path.Combine(RepoRoot.Path, "deploy", "k8s");

    private static string Compose => Path.Combine(RepoRoot.Path, "docker-compose.yml");

    private static string CudaOverride => Path.Combine(RepoRoot.Path, "deploy", "docker-compose.cuda.yml");

    [Fact]
    public async Task KubernetesManifests_And_Compose_ValidateAgainstSchemas()
    {
        var (exit, output) = await DeployValidator.RunAsync(Directory.GetFiles(K8s, "*.yaml").Append(Compose).Append(CudaOverride));
        Assert.True(exit == 0, output);
        foreach (var kind in new[] { "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "Secret", "PersistentVolumeClaim", "Namespace" })
        {
            Assert.Contains($"/{kind} ", output, StringComparison.Ordinal);
        }
        Assert.Contains("OK " + Path.Combine(K8s, "kustomization.yaml") + ": Kustomization", output, StringComparison.Ordinal);
        Assert.Contains($"OK {Compose}: compose services qwen-server,prometheus", output, StringComparison.Ordinal);
        Assert.Contains($"OK {CudaOverride}: compose services qwen-server", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("replicas: 2", "replicas: two", "data/spec/replicas must be integer")]
    [InlineData("readinessProbe:", "readinesProbe:", "spec.template.spec.containers[0].readinesProbe is not a field of Container")]
    [InlineData("            periodSeconds: 5\n", "            periodSeconds: 5\n            bogusField: 1\n", "spec.template.spec.containers[0].readinessProbe.bogusField is not a field of Probe")]
    [InlineData("      terminationGracePeriodSeconds: 30", "      terminationGracePeriodSecond: 30", "spec.template.spec.terminationGracePeriodSecond is not a field of PodSpec")]
    [InlineData("  replicas: 2", "  replica: 2", "spec.replica is not a field of DeploymentSpec")]
    public Task BrokenDeployment_IsRejected(string original, string broken, string expected)
        => AssertRejected(Path.Combine(K8s, "deployment.yaml"), original, broken, expected);

    [Theory]
    [InlineData("    ports:\n      - \"8000:8000\"\n", "    ports: 8000\n", "/services/qwen-server/ports must be array")]
    [InlineData("    healthcheck:\n", "    healthcheck: 5\n    x-healthcheck:\n", "/services/qwen-server/healthcheck must be object")]
    [InlineData("    restart: unless-stopped\n", "    restart: unless-stopped\n    restrat: always\n", "/services/qwen-server must NOT have additional properties 'restrat'")]
    [InlineData("      interval: 15s\n", "      interval: 15 seconds\n", "/services/qwen-server/healthcheck/interval must match format \"duration\"")]
    [InlineData("      QWEN_DEMO_PRESET: ${QWEN_DEMO_PRESET:-tiny}\n", "      QWEN_DEMO_PRESET: ${QWEN_DEMO_PRESET:?set it}\n", "/services/qwen-server/environment/QWEN_DEMO_PRESET needs the variable QWEN_DEMO_PRESET")]
    public Task BrokenCompose_IsRejected(string original, string broken, string expected)
        => AssertRejected(Compose, original, broken, expected);

    [Theory]
    [InlineData("capabilities: [gpu]", "capabilities: gpu", "/services/qwen-server/deploy/resources/reservations/devices/0/capabilities must be array")]
    [InlineData("          devices:\n", "          device:\n", "/services/qwen-server/deploy/resources/reservations must NOT have additional properties 'device'")]
    [InlineData("    deploy:\n", "    deplyo:\n", "/services/qwen-server must NOT have additional properties 'deplyo'")]
    public Task BrokenCudaOverride_IsRejected(string original, string broken, string expected)
        => AssertRejected(CudaOverride, original, broken, expected);

    [Fact]
    public async Task Kustomization_ListsEveryManifest()
    {
        var text = await File.ReadAllTextAsync(Path.Combine(K8s, "kustomization.yaml"));
        var listed = Regex.Matches(text, @"^  - (\S+\.yaml)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Order();
        var files = Directory.GetFiles(K8s, "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml").Order();
        Assert.Equal(files, listed);
    }

    [Fact]
    public async Task DeploymentFiles_SetOnlyKnownSettings()
    {
        // A misspelled QWEN_* variable is silently ignored by the server: every one the deployment files set must be a setting.
        var known = ServerOptions.Settings.Select(s => s.Env).ToHashSet(StringComparer.Ordinal);
        var files = new[] { "Dockerfile", "docker-compose.yml", "deploy/docker-compose.cuda.yml", "deploy/k8s/configmap.yaml", "deploy/k8s/secret.yaml", "deploy/k8s/deployment.yaml" };
        var used = new List<string>();
        foreach (var file in files)
        {
            var text = await File.ReadAllTextAsync(Path.Combine(RepoRoot.Path, file));
            used.AddRange(Regex.Matches(text, @"\bQWEN_[A-Z0-9_]+").Select(m => m.Value).Where(v => v != "QWEN_MODEL_DIR"));
        }
        Assert.Contains("QWEN_MODEL", used);
        Assert.Contains("QWEN_API_KEYS", used);
        Assert.All(used, v => Assert.Contains(v, known));
    }

    [Fact]
    public async Task Compose_PassesApiKeysOnlyWhenTheShellHasThem()
    {
        // ${QWEN_API_KEYS:-} gave the container a blank variable when the shell had none, which the server now refuses;
        // a key with no value is passed through when set and left out otherwise (compose-spec "environment").
        var text = await File.ReadAllTextAsync(Compose);
        Assert.Matches(new Regex(@"^      QWEN_API_KEYS:[ 	]*$", RegexOptions.Multiline), text);
        Assert.DoesNotContain("${QWEN_API_KEYS", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigMap_HasEverySetting_AndTheServerAcceptsItsValues()
    {
        var data = Variables(await File.ReadAllTextAsync(Path.Combine(K8s, "configmap.yaml")));
        var secret = Variables(await File.ReadAllTextAsync(Path.Combine(K8s, "secret.yaml")));
        Assert.Equal(["QWEN_API_KEYS"], secret.Keys);
        Assert.Equal(ServerOptions.Settings.Select(s => s.Env).Where(e => e != "QWEN_API_KEYS").Order(), data.Keys.Order());

        // The values as the pod's environment, with the model volume replaced by a directory that exists here.
        data["QWEN_MODEL"] = Directory.CreateTempSubdirectory("qwen-configmap-model-").FullName;
        data["QWEN_API_KEYS"] = secret["QWEN_API_KEYS"];
        var options = ServerConfiguration.Load(new Microsoft.Extensions.Configuration.ConfigurationManager(), [], name => data.GetValueOrDefault(name));
        Assert.Equal("cuda", options.ExecutionProvider);
        Assert.Equal(16, options.MaxNumSeqs);
        Assert.Equal(2, options.ApiKeyList.Count);
    }

    [Fact]
    public async Task Dockerfile_PublishStep_WithComposesEnvironment_BuildsAndServesTheDemo()
    {
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(RepoRoot.Path, "Dockerfile"));
        Assert.Contains("sh deploy/publish.sh /app", dockerfile, StringComparison.Ordinal);
        Assert.Contains("HEALTHCHECK", dockerfile, StringComparison.Ordinal);
        Assert.Contains("USER 10001", dockerfile, StringComparison.Ordinal);
        // The pod's runAsUser must be the image's numeric user, or runAsNonRoot pods run as someone else.
        var deployment = await File.ReadAllTextAsync(Path.Combine(K8s, "deployment.yaml"));
        var uid = Regex.Match(dockerfile, @"^USER (\d+)", RegexOptions.Multiline).Groups[1].Value;
        Assert.Contains($"runAsUser: {uid}", deployment, StringComparison.Ordinal);

        // The container's environment as `docker compose up` gives it: the CPU image's ENV, then the service's
        // environment (a key without a value is left out when the shell has none). Only the paths differ: the cache
        // volume is a fresh directory, so the demo model is built from what the publish step ships, not found cached.
        var service = (await DeployValidator.ComposeModelAsync(Compose)).GetProperty("services").GetProperty("qwen-server");
        var env = ImageEnvironment(dockerfile, service.GetProperty("build").GetProperty("args").GetProperty("VARIANT").GetString()!);
        foreach (var variable in service.GetProperty("environment").EnumerateObject().Where(v => v.Value.ValueKind != JsonValueKind.Null))
        {
            env[variable.Name] = variable.Value.GetString()!;
        }
        var cache = Directory.CreateTempSubdirectory("qwen-cache-volume-").FullName;
        Assert.Equal("/cache", env["QWEN_MODEL_CACHE_DIR"]);
        Assert.Equal("/cache/huggingface", env["HF_HOME"]); // a repo id's download lands on the same volume as its export
        env["QWEN_MODEL_CACHE_DIR"] = cache;
        env["HF_HOME"] = Path.Combine(cache, "huggingface");
        env["ASPNETCORE_URLS"] = "http://127.0.0.1:0";

        var output = Path.Combine(Path.GetTempPath(), $"qwen-publish-{Guid.NewGuid():N}");
        var (exit, log) = await RepoRoot.RunAsync("sh", $"deploy/publish.sh {output}", RepoRoot.Path, TimeSpan.FromMinutes(5));
        Assert.True(exit == 0, log);
        try
        {
            // Output is drained while the server runs (ServerProcess), so a chatty server never blocks on a full pipe.
            await using var server = ServerProcess.Start(["--threads", "1"], env, dll: Path.Combine(output, "Qwen.Server.dll"));
            var address = await server.WaitForListeningAsync(TimeSpan.FromMinutes(2));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(address, "/health/ready"))).StatusCode);
            using var reply = await http.PostAsync(new Uri(address, "/v1/chat/completions"), new StringContent(
                """{"messages":[{"role":"user","content":"Hello!"}],"max_tokens":5}""", System.Text.Encoding.UTF8, "application/json"));
            var body = await reply.Content.ReadAsStringAsync();
            Assert.True(reply.StatusCode == HttpStatusCode.OK, body);
            using var completion = JsonDocument.Parse(body);
            Assert.InRange(completion.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 5);
            Assert.Single(Directory.GetFiles(cache, "manifest.json", SearchOption.AllDirectories));
            var warning = Assert.Single(server.Stdout, l => l.Contains("DEMO MODEL", StringComparison.Ordinal));
            Assert.Contains("meaningless", warning, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("--model Qwen/Qwen2.5-0.5B-Instruct", warning, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
            Directory.Delete(cache, recursive: true);
        }
    }

    /// <summary>The ENV of the Dockerfile's runtime-<paramref name="variant"/> stage and then of its final stage (which is built FROM it).</summary>
    private static Dictionary<string, string> ImageEnvironment(string dockerfile, string variant)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var stage = "";
        // One instruction per logical line: a trailing backslash continues it.
        foreach (var line in dockerfile.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n'))
        {
            if (Regex.Match(line, @"^FROM \S+ AS (\S+)") is { Success: true } from)
            {
                stage = from.Groups[1].Value;
            }
            else if (line.StartsWith("ENV ", StringComparison.Ordinal) && (stage == $"runtime-{variant}" || stage == "final"))
            {
                foreach (Match pair in Regex.Matches(line, @"([A-Za-z_][A-Za-z0-9_]*)=(\S+)"))
                {
                    env[pair.Groups[1].Value] = pair.Groups[2].Value;
                }
            }
        }
        Assert.True(env.Count > 0, $"no ENV found for runtime-{variant} and final");
        return env;
    }

    /// <summary>The QWEN_* entries of a ConfigMap's data or a Secret's stringData (one "  KEY: value" line each).</summary>
    private static Dictionary<string, string> Variables(string yaml)
        => Regex.Matches(yaml, @"^  (QWEN_[A-Z0-9_]+): *(.*)$", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim() is var v && v.StartsWith('"') ? JsonSerializer.Deserialize<string>(v)! : v);

    /// <summary>A copy of <paramref name="source"/> with <paramref name="original"/> replaced fails validation with <paramref name="expected"/>.</summary>
    private static async Task AssertRejected(string source, string original, string broken, string expected)
    {
        var text = await File.ReadAllTextAsync(source);
        Assert.Contains(original, text, StringComparison.Ordinal);
        var dir = Directory.CreateTempSubdirectory("qwen-deploy-").FullName;
        var file = Path.Combine(dir, Path.GetFileName(source));
        await File.WriteAllTextAsync(file, text.Replace(original, broken, StringComparison.Ordinal));
        var (exit, output) = await DeployValidator.RunAsync([file]);
        Assert.True(exit == 1, output);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }
}
