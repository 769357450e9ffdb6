using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.Inference.Tests.Scheduling;

namespace Qwen.Inference.Tests.Engine;

/// <summary>One load call: the engine's model info is what the runner says of itself; a bad option costs no model load.</summary>
public sealed class EngineLoadTests
{
    [Fact]
    public async Task Load_TinyModel_InfoStatesManifestPrecisionAndTheCacheAsAllocated()
    {
        // The tiny model: 2 layers x (K and V) x 2 kv heads x head_dim 16 x 4 bytes = 512 bytes per token; 2 slots x 128 tokens.
        await using var engine = InferenceEngine.Load(EngineBatchingTests.TinyModel, new EngineOptions { MaxNumSeqs = 2, MaxModelLen = 128, IntraOpThreads = 1 });
        Assert.Equal(new ModelInfo(151936, 128, 2, "fp32", 2L * 128 * 512, "cpu", null, 0), engine.Info with { HugePageBytes = 0 }); // huge pages: HugePagesTests
        Assert.Equal(128, engine.MaxModelLen);
    }

    [Fact]
    public async Task Load_RunnerFactory_GetsTheDirectoryAndOptions_ScriptedRunnerSaysScripted()
    {
        var options = new EngineOptions { MaxNumSeqs = 3, MaxModelLen = 64 };
        (string, EngineOptions)? given = null;
        await using var engine = InferenceEngine.Load("/no/such/model", options, (dir, o) =>
        {
            given = (dir, o);
            return new FakeRunner(vocabSize: 1000, maxNumSeqs: o.MaxNumSeqs, maxModelLen: o.MaxModelLen);
        });
        Assert.Equal(("/no/such/model", options), given);
        Assert.Equal(new ModelInfo(1000, 64, 3, "scripted", 0, "cpu", null, 0), engine.Info);
    }

    [Fact]
    public void Load_BadOption_ThrowsBeforeTheRunnerIsCreated()
    {
        var created = false;
        Assert.Throws<ArgumentOutOfRangeException>(() => InferenceEngine.Load("/no/such/model", new EngineOptions { PrefillChunkSize = 0 }, (_, _) =>
        {
            created = true;
            return new FakeRunner();
        }));
        Assert.False(created, "the runner was created before the options were checked");
    }

    [Fact]
    public void Load_BadManifest_ReportsTheManifestPathAndRule()
    {
        var dir = Directory.CreateTempSubdirectory("qwen-bad-manifest-").FullName;
        try
        {
            var manifest = File.ReadAllText(Path.Combine(EngineBatchingTests.TinyModel, "manifest.json"));
            File.WriteAllText(Path.Combine(dir, "manifest.json"), manifest.Replace("\"format_version\": 1", "\"format_version\": 99", StringComparison.Ordinal));
            var e = Assert.ThrowsAny<Exception>(() => InferenceEngine.Load(dir, new EngineOptions { MaxModelLen = 64, IntraOpThreads = 1 }));
            Assert.Contains(Path.Combine(dir, "manifest.json"), e.Message, StringComparison.Ordinal);
            Assert.Contains("format_version must be 1 (given 99", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
