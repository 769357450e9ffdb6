namespace Qwen.Inference.Sampling;

/// <summary>
/// Per-sequence sampling state: its parameters, its own seeded generator (so its draws never depend on other
/// sequences), and the token counts the penalties need. Sparse sets, not vocabulary-sized arrays: outputs are short.
/// </summary>
public sealed class SamplingState
{
    private readonly HashSet<int>? _seen;
    private readonly Dictionary<int, int> _outputCounts = [];

    /// <summary>Creates the state for one sequence; checks the parameters against the vocabulary.</summary>
    public SamplingState(SamplingParams parameters, ReadOnlySpan<int> promptTokens, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Validate(parameters, vocabSize);
        Parameters = parameters;
        Random = new SequenceRandom(parameters.Seed ?? (ulong)System.Random.Shared.NextInt64());
        if (parameters.RepetitionPenalty != 1f)
        {
            _seen = [.. promptTokens.ToArray()];
        }
    }

    /// <summary>The sequence's parameters.</summary>
    public SamplingParams Parameters { get; }

    /// <summary>The sequence's own generator.</summary>
    public SequenceRandom Random { get; }

    /// <summary>Tokens of prompt and output (only tracked when a repetition penalty is set).</summary>
    public IReadOnlyCollection<int>? SeenTokens => _seen;

    /// <summary>How often each token was generated (for presence and frequency penalties).</summary>
    public IReadOnlyDictionary<int, int> OutputCounts => _outputCounts;

    /// <summary>Records a generated token.</summary>
    public void Record(int tokenId)
    {
        _seen?.Add(tokenId);
        _outputCounts[tokenId] = _outputCounts.GetValueOrDefault(tokenId) + 1;
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
