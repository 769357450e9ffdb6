using System.Text.Json.Nodes;

namespace Qwen.OnnxExport.Tests.Cli;

/// <summary>The command line's failures: non-zero exit, one clear line, and nothing left that looks like a model.</summary>
public sealed class ExportCommandTests
{
    private static string Source => Path.Combine(TinyModel.Directory(), "source");

    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), $"qwen-cli-{name}-{Guid.NewGuid():N}");

    /// <summary>A copy of the tiny checkpoint, then <paramref name="edit"/> applied to it.</summary>
    private static string BrokenCheckpoint(Action<string> edit)
    {
        var dir = Temp("src");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Source))
        {
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }
        edit(dir);
        return dir;
    }

    private static (int Exit, string Error, string Output) Run(params string[] args)
    {
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(error);
        try
        {
            var output = args[Array.IndexOf(args, "--output") + 1];
            return (ExportCommand.Run(args), error.ToString(), output);
        }
        finally
        {
            Console.SetError(original);
        }
    }

    private static void AssertFailed((int Exit, string Error, string Output) r, string expected)
    {
        Assert.Equal(1, r.Exit);
        Assert.Contains(expected, r.Error, StringComparison.Ordinal);
        Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.False(File.Exists(Path.Combine(r.Output, "manifest.json")), "a failed export left a complete-looking model");
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(r.Output)!, Path.GetFileName(r.Output) + ".tmp-*"));
    }

    [Fact]
    public void MissingInputDirectory_Fails() => AssertFailed(Run("--input", "/nonexistent/qwen", "--output", Temp("out")), "input directory not found");

    [Fact]
    public void MissingWeights_Fails()
        => AssertFailed(Run("--input", BrokenCheckpoint(d => File.Delete(Path.Combine(d, "model.safetensors"))), "--output", Temp("out")), "missing file");

    [Fact]
    public void UnsupportedModelType_Fails()
        => AssertFailed(Run("--input", BrokenCheckpoint(d => EditConfig(d, c => c["model_type"] = "llama")), "--output", Temp("out")), "unsupported model_type 'llama'");

    [Fact]
    public void ShapeDisagreeingWithConfig_Fails()
        => AssertFailed(Run("--input", BrokenCheckpoint(d => EditConfig(d, c => c["intermediate_size"] = 256)), "--output", Temp("out")), "has shape [192, 64] but config.json implies [256, 64]");

    [Fact]
    public void TruncatedSafetensorsHeader_Fails()
        => AssertFailed(Run("--input", BrokenCheckpoint(d => File.WriteAllBytes(Path.Combine(d, "model.safetensors"), File.ReadAllBytes(Path.Combine(d, "model.safetensors"))[..100])), "--output", Temp("out")), "safetensors header");

    [Fact]
    public void YarnRopeScaling_Refused()
        => AssertFailed(Run("--input", BrokenCheckpoint(d => EditConfig(d, c => c["rope_scaling"] = new JsonObject { ["type"] = "yarn", ["factor"] = 4.0 })), "--output", Temp("out")), "rope_scaling type 'yarn' is not supported");

    [Fact]
    public void SlidingWindow_Refused()
        => AssertFailed(Run("--input", BrokenCheckpoint(d => EditConfig(d, c => c["use_sliding_window"] = true)), "--output", Temp("out")), "use_sliding_window");

    [Fact]
    public void ExistingOutput_FailsWithoutForce_SucceedsWithForce()
    {
        var output = Temp("exists");
        Directory.CreateDirectory(output);
        var r = Run("--input", Source, "--output", output);
        Assert.Equal(1, r.Exit);
        Assert.Contains("output directory exists", r.Error, StringComparison.Ordinal);
        Assert.Equal(0, Run("--input", Source, "--output", output, "--force").Exit);
        Assert.True(File.Exists(Path.Combine(output, "manifest.json")));
    }

    private static void EditConfig(string dir, Action<JsonObject> edit)
    {
        var path = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }
}
