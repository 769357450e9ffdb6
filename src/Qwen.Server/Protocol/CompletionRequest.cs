using System.Text.Json;

namespace Qwen.Server.Protocol;

/// <summary>
/// The body of POST /v1/completions (legacy completions: a raw prompt, no chat template), plus vLLM's extensions. It describes
/// the request in the OpenAPI document; the server validates the raw JSON itself.
/// </summary>
public sealed record CompletionRequest
{
    /// <summary>The served model id (optional).</summary>
    public string? Model { get; init; }

    /// <summary>A string, a list of one string, or a list of token ids (batches of prompts are not supported).</summary>
    public required JsonElement Prompt { get; init; }

    /// <summary>Prepend the prompt to the text (and, with logprobs, its tokens with null logprobs).</summary>
    public bool? Echo { get; init; }

    /// <summary>In [-2, 2]: lowers the logits of tokens in proportion to how often they were generated.</summary>
    public float? FrequencyPenalty { get; init; }

    /// <summary>Token id (as a string) to a bias in [-100, 100] added to its logit.</summary>
    public IReadOnlyDictionary<string, float>? LogitBias { get; init; }

    /// <summary>Return legacy logprobs with this many alternatives per token, 0 to 5.</summary>
    public int? Logprobs { get; init; }

    /// <summary>Tokens to generate at most (default: what fits the context).</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Number of choices, 1 to 8.</summary>
    public int? N { get; init; }

    /// <summary>In [-2, 2]: lowers the logits of tokens already generated.</summary>
    public float? PresencePenalty { get; init; }

    /// <summary>Seed of the sampler.</summary>
    public long? Seed { get; init; }

    /// <summary>A string or a list of up to 16 strings.</summary>
    public JsonElement? Stop { get; init; }

    /// <summary>Stream server-sent events of text_completion objects.</summary>
    public bool? Stream { get; init; }

    /// <summary>Streaming options.</summary>
    public ChatCompletionStreamOptions? StreamOptions { get; init; }

    /// <summary>In [0, 2]; 0 is greedy. Default: the model's generation_config.json.</summary>
    public float? Temperature { get; init; }

    /// <summary>Nucleus sampling mass in (0, 1]. Default: the model's generation_config.json.</summary>
    public float? TopP { get; init; }

    /// <summary>An end-user id (accepted, not used).</summary>
    public string? User { get; init; }

    /// <summary>Extension: keep only the k most likely tokens (0 or -1: off).</summary>
    public int? TopK { get; init; }

    /// <summary>Extension: drop tokens less likely than min_p times the most likely one.</summary>
    public float? MinP { get; init; }

    /// <summary>Extension: Hugging Face repetition penalty, in [0.01, 10].</summary>
    public float? RepetitionPenalty { get; init; }

    /// <summary>Extension (for benchmarks): keep generating past the model's stop tokens.</summary>
    public bool? IgnoreEos { get; init; }
}
