using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Qwen.Inference.KvCache;
using Qwen.Inference.Model;
using Qwen.OnnxExport;
using Qwen.Server.Hosting;
using Qwen.Server.Tests.Deploy;

namespace Qwen.Server.Tests.Hosting;

/// <summary>Loading the model: cheap checks before the model load, the demo build's log, and the export command for a Hugging Face checkpoint.</summary>
public sealed class ModelHostTests
{
    [Fact]
    public void Load_RefusedTemplate_FailsBeforeTheModelIsLoaded()
    {
        var dir = TestModels.Variant(new() { ["tokenizer_config.json"] = TestModels.TokenizerConfigWithTemplate(t => t.Replace("# Tools", "# Tool", StringComparison.Ordinal)) });
        var loaded = false;
        var e = Assert.Throws<StartupException>(() => ModelHost.Load(new ServerOptions { Model = dir }, new CapturingLogger(), QwenServerApp.Sources, (_, o) =>
        {
            loaded = true;
            return new ScriptedRunner(151936, o.MaxNumSeqs, o.MaxModelLen);
        }));
        Assert.False(loaded, "the model was loaded before the chat template was checked");
        Assert.Contains(Path.Combine(dir, "tokenizer_config.json"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_DemoModelFirstRun_LogsTheBuildOnceThenReuses()
    {
        var cache = Directory.CreateTempSubdirectory("qwen-demo-cache-").FullName;
        try
        {
            var options = new ServerOptions { ModelCacheDir = cache, MaxModelLen = 256, MaxNumSeqs = 1 };
            var first = new CapturingLogger();
            await using (ModelHost.Load(options, first, QwenServerApp.Sources, Scripted))
            {
            }
            Assert.Contains(first.Entries, l => l.Level == LogLevel.Information && l.Message == $"Building the demo model (preset tiny, fp32) into {cache}, first run only");
            Assert.True(File.Exists(Path.Combine(RandomModelCache.DirectoryFor("tiny", "fp32", 1234, cache, demo: true), "manifest.json")));

            // `--model demo` names the same model, and is a valid setting (no directory of that name needed).
            var second = new CapturingLogger();
            Assert.Empty((options with { Model = ServerOptions.DemoModel }).Validate());
            await using (var host = ModelHost.Load(options with { Model = ServerOptions.DemoModel }, second, QwenServerApp.Sources, Scripted))
            {
                Assert.Equal("qwen2.5-demo-tiny", host.Name);
                Assert.True(host.IsDemo);
            }
            Assert.DoesNotContain(second.Entries, l => l.Message.Contains("Building", StringComparison.Ordinal));
            Assert.Contains(second.Entries, l => l.Level == LogLevel.Warning && l.Message.Contains("MEANINGLESS", StringComparison.Ordinal));

            // On CUDA the demo is fp16: the CUDA attention kernel takes no float32, and the engine would refuse the fp32 one.
            var cuda = QwenServerApp.BuildDemoModel("tiny", cache, "cuda", first);
            Assert.Equal(RandomModelCache.DirectoryFor("tiny", "fp16", 1234, cache, demo: true), cuda);
            Assert.Equal(("fp16", "cuda"), (ModelManifest.Load(cuda).Precision, ModelManifest.Load(cuda).Target));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task Load_KvCacheMemory_DerivesTheSlotCountFromTheBudget()
    {
        // Tiny preset: 2 layers x (K and V) x 2 KV heads x 256 tokens x head_dim 16 x 4 bytes = 131,072 bytes per slot.
        const long slotBytes = 2L * 2 * 2 * 256 * 16 * 4;
        var options = new ServerOptions { Model = TestModels.Tiny, MaxModelLen = 256, MaxNumSeqs = 8, KvCacheMemory = (3 * slotBytes + 1000).ToString(System.Globalization.CultureInfo.InvariantCulture) };
        await using var host = ModelHost.Load(options, new CapturingLogger(), QwenServerApp.Sources);
        Assert.Equal((3, 256, 3 * slotBytes), (host.Engine.Info.Slots, host.Engine.Info.MaxModelLen, host.Engine.Info.KvCacheBytes));
    }

    [Fact]
    public async Task Load_YarnModelAtItsFullLength_SlotsFromTheBudget_ScalingFromTheManifest()
    {
        // The tiny preset with the model cards' YaRN (factor 4 over 32768): 131,072 positions. 512 bytes per token (as above), so
        // a slot of the full length is 64 MiB and a budget of three slots and a little gives three.
        const long slotBytes = 2L * 2 * 2 * 131_072 * 16 * 4;
        var dir = RandomModelCache.GetOrCreate("tiny", "fp32", yarn: 4);
        var options = new ServerOptions { Model = dir, MaxModelLen = 131_072, KvCacheMemory = (3 * slotBytes + 1000).ToString(System.Globalization.CultureInfo.InvariantCulture) };
        await using var host = ModelHost.Load(options, new CapturingLogger(), QwenServerApp.Sources);
        Assert.Equal((3, 131_072, 3 * slotBytes), (host.Engine.Info.Slots, host.Engine.Info.MaxModelLen, host.Engine.Info.KvCacheBytes));
        Assert.Equal("yarn x4 of 32768 trained positions", host.RopeScaling?.ToString());
    }

    [Theory]
    [InlineData("int4", "cuda", true)]
    [InlineData("int4", null, false)]
    [InlineData("fp32", null, false)]
    public async Task Load_ACudaLayoutOnTheCpu_WarnsThatACpuExportIsFaster(string precision, string? target, bool warns)
    {
        var logger = new CapturingLogger();
        await using (ModelHost.Load(new ServerOptions { Model = RandomModelCache.GetOrCreate("tiny", precision, target: target), MaxModelLen = 64, MaxNumSeqs = 1 }, logger, QwenServerApp.Sources))
        {
        }
        Assert.Equal(warns, logger.Entries.Any(l => l.Level == LogLevel.Warning && l.Message.Contains($"is laid out for CUDA ({precision}, float16 activations and KV cache); the CPU runs it, more slowly than an export for the CPU (onnx-export --precision int4)", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Load_AModelWhoseManifestSaysRandom_WarnsAsLoudlyAsTheDemo(bool random)
    {
        // The same weights either way; only the manifest's word on where they came from differs.
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(TestModels.Tiny, "manifest.json")))!.AsObject();
        if (!random)
        {
            manifest["source"]!["random_preset"] = null;
            manifest["source"]!["seed"] = null;
        }
        var dir = TestModels.Variant(new() { ["manifest.json"] = manifest.ToJsonString() });
        var logger = new CapturingLogger();
        await using (ModelHost.Load(new ServerOptions { Model = dir, MaxModelLen = 64, MaxNumSeqs = 1 }, logger, QwenServerApp.Sources, Scripted))
        {
        }
        var warnings = logger.Entries.Where(l => l.Level == LogLevel.Warning && l.Message.Contains("MEANINGLESS", StringComparison.Ordinal)).ToList();
        Assert.Equal(random ? 1 : 0, warnings.Count);
        if (random)
        {
            Assert.StartsWith($"*** RANDOM WEIGHTS: {dir}'s manifest.json says it was exported from the random preset 'tiny'", warnings[0].Message, StringComparison.Ordinal);
            Assert.Contains("To serve a real model: --model Qwen/Qwen2.5-0.5B-Instruct", warnings[0].Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("int4", true)]
    [InlineData("fp32", false)]
    public async Task Load_PrecisionGivenForAModelDirectory_WarnsThatItAppliesToARepoIdOnly(string precision, bool warns)
    {
        var logger = new CapturingLogger();
        var options = new ServerOptions { Model = TestModels.Tiny, MaxModelLen = 64, MaxNumSeqs = 1, Precision = precision, GivenFrom = new Dictionary<string, string> { ["Precision"] = "--precision" } };
        await using (ModelHost.Load(options, logger, QwenServerApp.Sources, Scripted))
        {
        }
        // The tiny model is an fp32 export: an fp32 request is what it is, an int4 one cannot be honoured by a directory.
        Assert.Equal(warns, logger.Entries.Any(l => l.Level == LogLevel.Warning && l.Message == $"Precision (--precision, QWEN_PRECISION) {precision} (from --precision) applies to a Hugging Face repo id only; {Path.GetFileName(TestModels.Tiny)} is fp32"));
    }

    [Fact]
    public void Load_CudaWithAGraphForTheCpu_RefusesInOneLineNamingTheExport()
    {
        // This build has no CUDA provider: the refusal must come first, from the manifest, before any session exists.
        var e = Assert.Throws<StartupException>(() => ModelHost.Load(new ServerOptions { Model = RandomModelCache.GetOrCreate("tiny", "int4"), ExecutionProvider = "cuda", MaxModelLen = 64, MaxNumSeqs = 1, KvCacheMemory = "65536" }, new CapturingLogger(), QwenServerApp.Sources));
        Assert.Contains("this int4 export is laid out for the cpu (float32 attention and KV cache), and ONNX Runtime's CUDA GroupQueryAttention takes float16 or bfloat16 only", e.Message, StringComparison.Ordinal);
        Assert.Contains("Export the checkpoint for CUDA with onnx-export --precision int4 --target cuda", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cpu", "/out --precision int4")]
    [InlineData("cuda", "/out --precision int4 --target cuda")]
    public void ExportHint_NamesTheLayoutOfTheExecutionProvider(string provider, string ending)
        => Assert.EndsWith(ending, ExportHint.Command("/in", "/out", provider), StringComparison.Ordinal);

    [Fact]
    public async Task Load_GpuMemoryUtilization_ReachesTheEngine()
    {
        double? given = null;
        await using (ModelHost.Load(new ServerOptions { Model = TestModels.Tiny, MaxModelLen = 256, GpuMemoryUtilization = 0.5 }, new CapturingLogger(), QwenServerApp.Sources, (dir, o) =>
        {
            given = o.GpuMemoryUtilization;
            return Scripted(dir, o);
        }))
        {
        }
        Assert.Equal(0.5, given);
    }

    [Fact]
    public void LogDeviceMemory_Reading_StatesFreeTotalUtilizationAndSlotsAllowedAndTaken()
    {
        // 13 of 16 GiB free, u 0.75: 12 GiB - 3 GiB in use = 9 GiB, 96 slots of 96 MiB; MaxNumSeqs 8 takes 8.
        var logger = new CapturingLogger();
        ModelHost.LogDeviceMemory(logger, new DeviceMemoryBudget(13L << 30, 16L << 30, 0.75, 9L << 30, 96), 8, 8);
        var line = Assert.Single(logger.Entries).Message;
        Assert.Equal("KV cache sized from GPU memory: 13312 of 16384 MiB free once the weights were loaded; --gpu-memory-utilization 0.75 leaves 9216 MiB, room for 96 slots; took 8 (--max-num-seqs 8)", line);
    }

    [Fact]
    public async Task Load_HuggingFaceCheckpoint_MessageHasAnExportCommandThatWorksFromAnyDirectory()
    {
        var root = Directory.CreateTempSubdirectory("qwen-hf-").FullName;
        var checkpoint = Path.Combine(root, "Qwen2.5 0.5B (it's mine)");
        Directory.CreateDirectory(checkpoint);
        await File.WriteAllTextAsync(Path.Combine(checkpoint, "config.json"), "{}");
        await File.WriteAllTextAsync(Path.Combine(checkpoint, "model.safetensors"), "");

        var e = Assert.Throws<StartupException>(() => ModelHost.Load(new ServerOptions { Model = checkpoint }, new CapturingLogger(), QwenServerApp.Sources));
        Assert.StartsWith($"Model (--model, QWEN_MODEL) '{checkpoint}' has no manifest.json: it is a Hugging Face checkpoint", e.Message, StringComparison.Ordinal);
        const string Before = "export it to ONNX first: ";
        const string After = "   then start with --model ";
        var start = e.Message.IndexOf(Before, StringComparison.Ordinal) + Before.Length;
        var end = e.Message.IndexOf(After, StringComparison.Ordinal);
        var command = e.Message[start..end];

        // What a POSIX shell makes of the command, run from / so nothing depends on the current directory.
        var (exit, argv) = await RepoRoot.RunAsync("sh", ["-c", "set -- " + command + "; for a in \"$@\"; do printf '%s\\n' \"$a\"; done"], "/", TimeSpan.FromSeconds(30));
        Assert.Equal(0, exit);
        var project = Path.Combine(RepoRoot.Path, "onnx-export");
        string[] expected = ["dotnet", "run", "-c", "Release", "--project", project, "--", "--input", checkpoint, "--output", checkpoint + "-int4", "--precision", "int4"];
        Assert.Equal(expected, argv.TrimEnd('\n').Split('\n'));
        Assert.True(File.Exists(Path.Combine(project, "Qwen.OnnxExport.csproj")));
        Assert.EndsWith(ExportHint.Quote(checkpoint + "-int4"), e.Message, StringComparison.Ordinal);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void Load_ConfigJsonWithoutWeights_SaysTheWeightsAreMissing()
    {
        var dir = Directory.CreateTempSubdirectory("qwen-hf-noweights-").FullName;
        File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
        var e = Assert.Throws<StartupException>(() => ModelHost.Load(new ServerOptions { Model = dir }, new CapturingLogger(), QwenServerApp.Sources));
        Assert.Contains("no *.safetensors weights", e.Message, StringComparison.Ordinal);
        Directory.Delete(dir, recursive: true);
    }

    [Theory]
    [InlineData("/plain/path-1_2.x", "/plain/path-1_2.x")]
    [InlineData("/with space", "'/with space'")]
    [InlineData("/it's", "'/it'\\''s'")]
    [InlineData("/$HOME;rm", "'/$HOME;rm'")]
    public void Quote_ShellSpecialCharacters_AreSingleQuoted(string path, string quoted)
        => Assert.Equal(quoted, ExportHint.Quote(path));

    private static ScriptedRunner Scripted(string dir, Inference.Engine.EngineOptions o) => new(151936, o.MaxNumSeqs, o.MaxModelLen);
}
