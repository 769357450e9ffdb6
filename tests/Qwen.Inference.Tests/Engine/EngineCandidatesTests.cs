using System.Text.Json.Nodes;
using Qwen.Inference.Engine;
using Qwen.Inference.Sampling;
using Qwen.Inference.Tests.Sampling;

namespace Qwen.Inference.Tests.Engine;

/// <summary>
/// Sampling decode rows from the candidates graph gives what sampling every full row gives: the same tokens and logprobs
/// for a mix of concurrent requests (every kind of setting, constrained ones too), with enough rows per step to take the
/// parallel sampling path, and in copy-at-bind mode (full rows read through the graph, as on CUDA). The full-row engine is
/// the oracle: it is the mode the sampler tests and the batching tests prove.
/// </summary>
public sealed class EngineCandidatesTests : IDisposable
{
    private const int Stop = 151_643;

    private static readonly EngineOptions Options = new() { MaxNumSeqs = 8, MaxModelLen = 96, MaxWaiting = 16, PrefillChunkSize = 16, IntraOpThreads = 1, ParallelSamplingMinRows = 2, CandidatesMinRows = 1 };

    private readonly string _oldModel = Directory.CreateTempSubdirectory("qwen-old-manifest-").FullName;

    public void Dispose() => Directory.Delete(_oldModel, recursive: true);

    /// <summary>One request of each kind; constraints are stateful, so each call makes new ones.</summary>
    private static GenerationRequest[] Requests()
    {
        GenerationRequest Request(int seed, int length, SamplingParams p, int max = 24) => new(EngineBatchingTests.Prompt(seed, length), p, max, [Stop]);
        return
        [
            Request(41, 5, new SamplingParams()),
            Request(42, 17, new SamplingParams { Temperature = 0.7f, TopK = 20, TopP = 0.8f, Seed = 1 }),
            Request(43, 9, new SamplingParams { Temperature = 1f, RepetitionPenalty = 1.05f, TopLogprobs = 5, Seed = 2 }),
            Request(44, 3, new SamplingParams { Temperature = 0.9f, LogitBias = new Dictionary<int, float> { [1234] = 6f, [77] = 3f }, TopLogprobs = 2, Seed = 3 }),
            Request(45, 11, new SamplingParams { Temperature = 0.8f, TopK = 40, PresencePenalty = 0.5f, FrequencyPenalty = 0.3f, Seed = 4 }),
            Request(46, 7, new SamplingParams { Temperature = 1f, MinP = 0.05f, TopLogprobs = 20, Seed = 5 }),
            Request(47, 6, new SamplingParams { TopLogprobs = 3 }) with { Constraint = ScriptedConstraint.EvenIds() },
            Request(48, 13, new SamplingParams { Temperature = 1f, TopK = 20, Seed = 6 }) with { Constraint = new ScriptedConstraint((position, id) => position < 9 && id % 3 == 0) },
        ];
    }

    [Fact]
    public async Task Generate_CandidatesOnVersusOff_SameTokensAndLogprobs()
    {
        var off = await RunAll(EngineBatchingTests.TinyModel, Options with { SampleFromCandidates = false });
        Assert.Equal(FinishReason.Stop, off[7][^1].Finish); // the constraint that allows nothing after 9 tokens ended it
        var on = Options with { SampleFromCandidates = true };
        // Rows the sampler cannot decide from candidates are fetched after the decode; the rule that lists rows up front is
        // replaced to send some rows (or all) that way, mixed with listed ones, whatever the sampler's rules are today.
        var someAfter = on with { MayUseCandidates = (p, k) => p.Seed is null or 1 or 4 or 6 || Sampler.MayUseCandidates(p, k) };
        var allAfter = on with { MayUseCandidates = (_, _) => true };
        // From 4 running rows only: steps switch between full rows and candidates as requests join and end.
        var fromFour = on with { CandidatesMinRows = 4, CopyInputsAtBind = true };
        foreach (var (options, name) in new[] { (on, "on"), (on with { CopyInputsAtBind = true }, "on, copy at bind"), (someAfter, "some rows after"), (allAfter with { CopyInputsAtBind = true }, "all rows after, copy at bind"), (fromFour, "from 4 rows, copy at bind") })
        {
            var run = await RunAll(EngineBatchingTests.TinyModel, options);
            for (var r = 0; r < off.Length; r++)
            {
                AssertSame(off[r], run[r], $"request {r}, candidates {name}");
            }
        }
    }

    [Fact]
    public async Task Generate_ManifestWithoutCandidates_LoadsAndServesAsFullRows()
    {
        // A model directory from before candidates.onnx: its manifest has no "candidates" and the file is absent.
        foreach (var file in Directory.EnumerateFiles(EngineBatchingTests.TinyModel).Where(f => Path.GetFileName(f) is not ("manifest.json" or "candidates.onnx")))
        {
            File.CreateSymbolicLink(Path.Combine(_oldModel, Path.GetFileName(file)), file);
        }
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(EngineBatchingTests.TinyModel, "manifest.json")))!.AsObject();
        Assert.True(manifest.Remove("candidates"));
        File.WriteAllText(Path.Combine(_oldModel, "manifest.json"), manifest.ToJsonString());

        var expected = await RunAll(EngineBatchingTests.TinyModel, Options with { SampleFromCandidates = false });
        var old = await RunAll(_oldModel, Options with { SampleFromCandidates = true });
        for (var r = 0; r < expected.Length; r++)
        {
            AssertSame(expected[r], old[r], $"request {r}, old manifest");
        }
    }

    private static async Task<GeneratedToken[][]> RunAll(string model, EngineOptions options)
    {
        await using var engine = InferenceEngine.Load(model, options);
        Assert.Equal(options.SampleFromCandidates == true && File.Exists(Path.Combine(model, "candidates.onnx")) ? 64 : 0, engine.Runner.CandidateCount);
        return await Task.WhenAll(Requests().Select(r => EngineBatchingTests.CollectTokens(engine, r)));
    }

    private static void AssertSame(GeneratedToken[] expected, GeneratedToken[] actual, string what)
    {
        Assert.Equal(expected.Select(t => (t.TokenId, t.Finish)), actual.Select(t => (t.TokenId, t.Finish)));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].TopLogprobs?.Select(t => t.TokenId), actual[i].TopLogprobs?.Select(t => t.TokenId));
            float[] e = [.. expected[i].Logprob is { } l ? [l] : Array.Empty<float>(), .. expected[i].TopLogprobs?.Select(t => t.Logprob) ?? []];
            float[] a = [.. actual[i].Logprob is { } m ? [m] : Array.Empty<float>(), .. actual[i].TopLogprobs?.Select(t => t.Logprob) ?? []];
            // From candidates a logprob is value minus the graph's log-sum-exp (summed in double) rather than the sampler's own
            // float sum over the row: both within a few 1e-6 of exact for logits near 20, so 1e-4 leaves a wide margin.
            Assert.True(e.Length == a.Length && e.Zip(a).All(p => Math.Abs(p.First - p.Second) <= 1e-4), $"{what}, token {i}: logprobs [{string.Join(", ", a)}], full rows [{string.Join(", ", e)}]");
        }
    }
}
