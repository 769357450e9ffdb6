using System.Text.Json;

namespace Qwen.Server.Protocol;

/// <summary>
/// The body of POST /v1/chat/completions as OpenAI defines it, plus vLLM's sampling extensions. It describes the request in
/// the OpenAPI document; the server validates the raw JSON itself (Validation/), which names the faulty field exactly.
/// </summary>
public sealed record ChatCompletionRequest
{
    /// <summary>The conversation so far.</summary>
    public required IReadOnlyList<ChatCompletionRequestMessage> Messages { get; init; }

    /// <summary>The served model id (optional: this server serves one model).</summary>
    public string? Model { get; init; }

    /// <summary>In [-2, 2]: lowers the logits of tokens in proportion to how often they were generated.</summary>
    public float? FrequencyPenalty { get; init; }

    /// <summary>Token id (as a string) to a bias in [-100, 100] added to its logit.</summary>
    public IReadOnlyDictionary<string, float>? LogitBias { get; init; }

    /// <summary>Return the log-probability of each generated token.</summary>
    public bool? Logprobs { get; init; }

    /// <summary>Tokens to generate at most (takes precedence over max_tokens).</summary>
    public int? MaxCompletionTokens { get; init; }

    /// <summary>Tokens to generate at most (default: what fits the context).</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Number of choices, 1 to 8; with a seed, choice i samples with seed + i.</summary>
    public int? N { get; init; }

    /// <summary>False: generation ends after the first complete tool call.</summary>
    public bool? ParallelToolCalls { get; init; }

    /// <summary>In [-2, 2]: lowers the logits of tokens already generated.</summary>
    public float? PresencePenalty { get; init; }

    /// <summary>text (default) or json_object.</summary>
    public ResponseFormat? ResponseFormat { get; init; }

    /// <summary>Seed of the sampler: the same seed and request give the same text.</summary>
    public long? Seed { get; init; }

    /// <summary>A string or a list of up to 16 strings; the text ends before the first one found.</summary>
    public JsonElement? Stop { get; init; }

    /// <summary>Stream server-sent events of chat.completion.chunk objects.</summary>
    public bool? Stream { get; init; }

    /// <summary>Streaming options.</summary>
    public ChatCompletionStreamOptions? StreamOptions { get; init; }

    /// <summary>In [0, 2]; 0 is greedy. Default: the model's generation_config.json.</summary>
    public float? Temperature { get; init; }

    /// <summary>none, auto, required, or {"type": "function", "function": {"name": ...}}.</summary>
    public JsonElement? ToolChoice { get; init; }

    /// <summary>Functions the model may call.</summary>
    public IReadOnlyList<ChatCompletionTool>? Tools { get; init; }

    /// <summary>With logprobs: how many alternatives to return per token, 0 to 20.</summary>
    public int? TopLogprobs { get; init; }

    /// <summary>Nucleus sampling mass in (0, 1]. Default: the model's generation_config.json.</summary>
    public float? TopP { get; init; }

    /// <summary>An end-user id (accepted, not used).</summary>
    public string? User { get; init; }

    /// <summary>Extension: keep only the k most likely tokens (0 or -1: off). Default: generation_config.json.</summary>
    public int? TopK { get; init; }

    /// <summary>Extension: drop tokens less likely than min_p times the most likely one.</summary>
    public float? MinP { get; init; }

    /// <summary>Extension: Hugging Face repetition penalty, in [0.01, 10]. Default: generation_config.json.</summary>
    public float? RepetitionPenalty { get; init; }

    /// <summary>Extension (for benchmarks): keep generating past the model's stop tokens.</summary>
    public bool? IgnoreEos { get; init; }
}
