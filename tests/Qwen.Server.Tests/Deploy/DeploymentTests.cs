using System.Net;
using System.Net.Sockets;

namespace Qwen.Server.Tests.Deploy;

/// <summary>What can be tested of the deployment here: manifests against the Kubernetes schemas, the compose file, and the image's publish step.</summary>
public sealed class DeploymentTests
{
    private static readonly SemaphoreSlim NpmGate = new(1, 1);

    [Fact]
    public async Task KubernetesManifests_And_Compose_ValidateAgainstSchemas()
    {
        var (exit, output) = await Validate(Directory.GetFiles(System.IO.Path.Combine(RepoRoot.Path, "deploy", "k8s"), "*.yaml").Append(System.IO.Path.Combine(RepoRoot.Path, "docker-compose.yml")));
        Assert.True(exit == 0, output);
        foreach (var kind in new[] { "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "Secret" })
        {
            Assert.Contains($"/{kind} ", output, StringComparison.Ordinal);
        }
        Assert.Contains("compose services qwen-server,prometheus", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeploymentFiles_SetOnlyKnownSettings()
    {
        // A misspelled QWEN_* variable is silently ignored by the server: every one the deployment files set must be a setting.
        var known = Qwen.Server.Hosting.ServerOptions.Settings.Select(s => s.Env).ToHashSet(StringComparer.Ordinal);
        var files = new[] { "Dockerfile", "docker-compose.yml", "deploy/k8s/configmap.yaml", "deploy/k8s/secret.yaml", "deploy/k8s/deployment.yaml" };
        var used = new List<string>();
        foreach (var file in files)
        {
            var text = await File.ReadAllTextAsync(System.IO.Path.Combine(RepoRoot.Path, file));
            used.AddRange(System.Text.RegularExpressions.Regex.Matches(text, @"\bQWEN_[A-Z0-9_]+").Select(m => m.Value).Where(v => v != "QWEN_MODEL_DIR"));
        }
        Assert.Contains("QWEN_MODEL", used);
        Assert.Contains("QWEN_API_KEYS", used);
        Assert.All(used, v => Assert.Contains(v, known));
    }

    [Fact]
    public async Task BrokenManifest_IsRejected()
    {
        var bad = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.yaml");
        var deployment = await File.ReadAllTextAsync(System.IO.Path.Combine(RepoRoot.Path, "deploy", "k8s", "deployment.yaml"));
        await File.WriteAllTextAsync(bad, deployment.Replace("replicas: 2", "replicas: two", StringComparison.Ordinal));
        var (exit, output) = await Validate([bad]);
        Assert.Equal(1, exit);
        Assert.Contains("replicas must be integer", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dockerfile_PublishStep_ProducesAServerThatStartsAndIsReady()
    {
        var dockerfile = await File.ReadAllTextAsync(System.IO.Path.Combine(RepoRoot.Path, "Dockerfile"));
        Assert.Contains("sh deploy/publish.sh /app", dockerfile, StringComparison.Ordinal);
        Assert.Contains("HEALTHCHECK", dockerfile, StringComparison.Ordinal);
        Assert.Contains("USER 10001", dockerfile, StringComparison.Ordinal);
        // The pod's runAsUser must be the image's numeric user, or runAsNonRoot pods run as someone else.
        var deployment = await File.ReadAllTextAsync(System.IO.Path.Combine(RepoRoot.Path, "deploy", "k8s", "deployment.yaml"));
        var uid = System.Text.RegularExpressions.Regex.Match(dockerfile, @"^USER (\d+)", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value;
        Assert.Contains($"runAsUser: {uid}", deployment, StringComparison.Ordinal);

        var output = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"qwen-publish-{Guid.NewGuid():N}");
        var (exit, log) = await RepoRoot.RunAsync("sh", $"deploy/publish.sh {output}", RepoRoot.Path, TimeSpan.FromMinutes(5));
        Assert.True(exit == 0, log);

        var port = FreePort();
        using var server = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", $"{System.IO.Path.Combine(output, "Qwen.Server.dll")} --urls http://127.0.0.1:{port} --threads 1")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["QWEN_MODEL_CACHE"] = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "qwen-server-models") },
        })!;
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var ready = false;
            for (var i = 0; i < 240 && !ready && !server.HasExited; i++)
            {
                try
                {
                    ready = (await http.GetAsync($"http://127.0.0.1:{port}/health/ready")).StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(500);
                }
            }
            Assert.True(ready, "the published server did not become ready within 2 minutes");
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            Directory.Delete(output, recursive: true);
        }
    }

    private static async Task<(int Exit, string Output)> Validate(IEnumerable<string> files)
    {
        var dir = System.IO.Path.Combine(RepoRoot.Path, "deploy", "validate");
        await NpmGate.WaitAsync();
        try
        {
            if (!Directory.Exists(System.IO.Path.Combine(dir, "node_modules", "kubernetes-models")))
            {
                var (exit, log) = await RepoRoot.RunAsync("npm", "ci --no-audit --no-fund", dir, TimeSpan.FromMinutes(5));
                Assert.True(exit == 0, "npm ci failed: " + log);
            }
        }
        finally
        {
            NpmGate.Release();
        }
        return await RepoRoot.RunAsync("node", "validate.mjs " + string.Join(' ', files.Select(f => $"\"{f}\"")), dir, TimeSpan.FromMinutes(2));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
