namespace Qwen.Inference.Sampling;

/// <summary>How one sequence picks its next token; defaults are greedy with no penalties.</summary>
public sealed record SamplingParams
{
    /// <summary>Softmax temperature; 0 means greedy (argmax).</summary>
    public float Temperature { get; init; }

    /// <summary>Nucleus sampling mass in (0, 1]; 1 disables it.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Keep only the k most likely tokens; 0 disables it.</summary>
    public int TopK { get; init; }

    /// <summary>Drop tokens whose probability is below <c>MinP</c> times the top probability; 0 disables it.</summary>
    public float MinP { get; init; }

    /// <summary>Hugging Face repetition penalty over prompt and output tokens; 1 disables it.</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>OpenAI presence penalty over output tokens, in [-2, 2].</summary>
    public float PresencePenalty { get; init; }

    /// <summary>OpenAI frequency penalty over output tokens, in [-2, 2].</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>Added to the logit of each listed token id before sampling.</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }

    /// <summary>Seed of the sequence's own random generator; null draws one.</summary>
    public ulong? Seed { get; init; }

    /// <summary>When set, report the chosen token's log-probability and this many alternatives (0..20).</summary>
    public int? TopLogprobs { get; init; }
}
