using System.Runtime.InteropServices;

namespace Qwen.Inference.Sampling;

/// <summary>
/// Per-sequence sampling state: its parameters, its own seeded generator (so its draws never depend on other
/// sequences), and the token counts the penalties need. Sparse lists, not vocabulary-sized arrays: the penalties touch
/// only the tokens a sequence has seen, and iterating them is a span walk (no boxed enumerators).
/// </summary>
public sealed class SamplingState
{
    private readonly HashSet<int>? _seen;
    private readonly List<int> _seenList = [];
    private readonly Dictionary<int, int> _outputIndex = [];
    private readonly List<int> _outputIds = [];
    private readonly List<int> _outputCounts = [];
    private readonly int[] _biasIds;
    private readonly float[] _biasValues;

    /// <summary>Creates the state for one sequence; checks the parameters against the vocabulary.</summary>
    public SamplingState(SamplingParams parameters, ReadOnlySpan<int> promptTokens, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Validate(parameters, vocabSize);
        Parameters = parameters;
        Random = new SequenceRandom(parameters.Seed ?? (ulong)System.Random.Shared.NextInt64());
        if (parameters.RepetitionPenalty != 1f)
        {
            _seen = [];
            foreach (var t in promptTokens)
            {
                if (_seen.Add(t))
                {
                    _seenList.Add(t);
                }
            }
        }
        // Copied once per request into arrays, so each token's bias pass is a plain loop.
        var bias = parameters.LogitBias;
        _biasIds = bias is null ? [] : [.. bias.Keys];
        _biasValues = bias is null ? [] : [.. _biasIds.Select(id => bias[id])];
    }

    /// <summary>The sequence's parameters.</summary>
    public SamplingParams Parameters { get; }

    /// <summary>The sequence's own generator.</summary>
    public SequenceRandom Random { get; }

    /// <summary>Distinct tokens of prompt and output, first seen first (only tracked when a repetition penalty is set).</summary>
    public ReadOnlySpan<int> SeenTokens => CollectionsMarshal.AsSpan(_seenList);

    /// <summary>Distinct generated tokens, first generated first; <see cref="OutputCounts"/> holds how often each was.</summary>
    public ReadOnlySpan<int> OutputTokenIds => CollectionsMarshal.AsSpan(_outputIds);

    /// <summary>How often each token of <see cref="OutputTokenIds"/> was generated (for presence and frequency penalties).</summary>
    public ReadOnlySpan<int> OutputCounts => CollectionsMarshal.AsSpan(_outputCounts);

    /// <summary>Token ids of <see cref="SamplingParams.LogitBias"/>; <see cref="LogitBiasValues"/> holds their biases.</summary>
    public ReadOnlySpan<int> LogitBiasIds => _biasIds;

    /// <summary>The bias of each token of <see cref="LogitBiasIds"/>.</summary>
    public ReadOnlySpan<float> LogitBiasValues => _biasValues;

    /// <summary>Whether <paramref name="tokenId"/> has a logit_bias, and which.</summary>
    internal bool TryGetBias(int tokenId, out float bias)
    {
        bias = 0;
        return Parameters.LogitBias is { } map && map.TryGetValue(tokenId, out bias);
    }

    /// <summary>Whether <paramref name="tokenId"/> is among <see cref="SeenTokens"/>.</summary>
    internal bool HasSeen(int tokenId) => _seen is not null && _seen.Contains(tokenId);

    /// <summary>How often <paramref name="tokenId"/> was generated.</summary>
    internal int OutputCount(int tokenId) => _outputIndex.TryGetValue(tokenId, out var index) ? _outputCounts[index] : 0;

    /// <summary>Records a generated token.</summary>
    public void Record(int tokenId)
    {
        if (_seen is not null && _seen.Add(tokenId))
        {
            _seenList.Add(tokenId);
        }
        ref var index = ref CollectionsMarshal.GetValueRefOrAddDefault(_outputIndex, tokenId, out var exists);
        if (exists)
        {
            CollectionsMarshal.AsSpan(_outputCounts)[index]++;
        }
        else
        {
            index = _outputIds.Count;
            _outputIds.Add(tokenId);
            _outputCounts.Add(1);
        }
    }

    private static void Validate(SamplingParams p, int vocabSize)
    {
        if (!(p.Temperature >= 0) || float.IsInfinity(p.Temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"temperature must be >= 0 (given {p.Temperature})");
        }
        if (!(p.TopP > 0 && p.TopP <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"top_p must be in (0, 1] (given {p.TopP})");
        }
        if (p.TopK < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"top_k must be >= 0 (given {p.TopK})");
        }
        if (!(p.MinP >= 0 && p.MinP <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"min_p must be in [0, 1] (given {p.MinP})");
        }
        if (!(p.RepetitionPenalty > 0) || float.IsInfinity(p.RepetitionPenalty))
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"repetition_penalty must be > 0 (given {p.RepetitionPenalty})");
        }
        if (p.TopLogprobs is < 0 or > 20)
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"top_logprobs must be in [0, 20] (given {p.TopLogprobs})");
        }
        if (p.LogitBias is { } bias && bias.Keys.Any(k => k < 0 || k >= vocabSize))
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"logit_bias token ids must be in [0, {vocabSize}) (given {bias.Keys.First(k => k < 0 || k >= vocabSize)})");
        }
    }
}
