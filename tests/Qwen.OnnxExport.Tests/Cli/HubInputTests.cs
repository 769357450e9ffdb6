using Qwen.OnnxExport.Tests.Checkpoint;
using Qwen.OnnxExport.Tests.Hub;

namespace Qwen.OnnxExport.Tests.Cli;

/// <summary>`onnx-export --input org/name[@rev]`: downloads into the hub cache from HF_ENDPOINT, then exports the snapshot.</summary>
public sealed class HubInputTests : IAsyncLifetime
{
    private readonly TestDirectories _dirs = new();
    private HubTestRepo _t = null!;

    public async Task InitializeAsync() => _t = await HubTestRepo.StartAsync();

    public async Task DisposeAsync()
    {
        await _t.DisposeAsync();
        _dirs.Dispose();
    }

    private (int Exit, string Error) Run(params string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = _dirs.Temp("home"),
            ["HF_ENDPOINT"] = _t.Hub.Endpoint + "/",
            ["HF_HUB_CACHE"] = _t.Cache,
        };
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(error);
        try
        {
            return (ExportCommand.Run(args, name => environment.GetValueOrDefault(name)), error.ToString());
        }
        finally
        {
            Console.SetError(original);
        }
    }

    [Fact]
    public void Run_RepoId_DownloadsThenExportsTheSnapshot()
    {
        var output = _dirs.Temp("out");
        var (exit, error) = Run("--input", HubTestRepo.RepoId, "--output", output);

        Assert.True(exit == 0, error);
        Assert.True(File.Exists(Path.Combine(output, "model.onnx")));
        var snapshot = Path.Combine(_t.RepoFolder, "snapshots", _t.Repo.Commit);
        Assert.Contains($"onnx-export: downloaded {HubTestRepo.RepoId} (commit {_t.Repo.Commit}): ", error, StringComparison.Ordinal);
        Assert.Contains(snapshot, error, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(Path.Combine(HubTestRepo.Files, "tokenizer.json")), File.ReadAllBytes(Path.Combine(output, "tokenizer.json")));
        var source = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(output, "manifest.json")))!["source"]!;
        Assert.Equal((HubTestRepo.RepoId, "main", _t.Repo.Commit), ((string?)source["repo"], (string?)source["revision"], (string?)source["commit"]));

        // Again with the cache warm: no file request, the same export.
        _t.Hub.ClearRequests();
        var again = Run("--input", $"{HubTestRepo.RepoId}@main", "--output", _dirs.Temp("out2"));
        Assert.Equal(0, again.Exit);
        Assert.Contains("is in the cache", again.Error, StringComparison.Ordinal);
        Assert.Empty(_t.FileRequests());
    }

    [Fact]
    public void Run_MissingRepo_OneLineErrorExit1()
    {
        var output = _dirs.Temp("out");
        var (exit, error) = Run("--input", "Qwen/No-Such-Model", "--output", output);
        Assert.Equal(1, exit);
        Assert.Equal($"onnx-export: error: Qwen/No-Such-Model not found on {_t.Hub.Endpoint} (a private repo also needs HF_TOKEN)", error.Trim());
        Assert.False(Directory.Exists(output));
    }
}
