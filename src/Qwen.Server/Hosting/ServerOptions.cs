using System.Globalization;

namespace Qwen.Server.Hosting;

/// <summary>
/// Every server setting in one place, bound from the "Qwen" configuration section, which command-line flags
/// (<see cref="Settings"/>), QWEN_* environment variables and appsettings.json all feed. Validated at startup.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>The settings: configuration key, flag, environment variable, default, meaning (the README table is this list).</summary>
    public static IReadOnlyList<(string Key, string Flag, string Env, string Default, string Meaning)> Settings { get; } =
    [
        ("Model", "--model", "QWEN_MODEL", "(demo model)", "Exported model directory (onnx-export output). Unset: build and serve the random-weight demo model."),
        ("ServedModelName", "--served-model-name", "QWEN_SERVED_MODEL_NAME", "directory name", "The model id clients send and /v1/models lists."),
        ("ApiKeys", "--api-keys", "QWEN_API_KEYS", "(none: open)", "Comma-separated API keys; when set, /v1/* and /tokenize need `Authorization: Bearer <key>`."),
        ("MaxNumSeqs", "--max-num-seqs", "QWEN_MAX_NUM_SEQS", "8", "KV cache slots: sequences decoded together."),
        ("MaxModelLen", "--max-model-len", "QWEN_MAX_MODEL_LEN", "4096", "Tokens per slot (prompt + output), at most the model's max_seq_len."),
        ("MaxWaiting", "--max-waiting", "QWEN_MAX_WAITING", "64", "Requests that may wait for a slot; beyond it 429 with Retry-After."),
        ("PrefillChunkSize", "--prefill-chunk-size", "QWEN_PREFILL_CHUNK_SIZE", "256", "Prompt tokens per prefill step, interleaved with decode steps."),
        ("Threads", "--threads", "QWEN_THREADS", "0 (one per core)", "ONNX Runtime intra-op threads."),
        ("ExecutionProvider", "--execution-provider", "QWEN_EXECUTION_PROVIDER", "cpu", "cpu or cuda (cuda needs the GPU image)."),
        ("CudaDeviceId", "--cuda-device-id", "QWEN_CUDA_DEVICE_ID", "0", "GPU index for cuda."),
        ("OptimizedModelCache", "--optimized-model-cache", "QWEN_OPTIMIZED_MODEL_CACHE", "(off)", "File to cache ONNX Runtime's optimized graph in; reused on the next start."),
        ("MaxRequestBodyBytes", "--max-request-body-bytes", "QWEN_MAX_REQUEST_BODY_BYTES", "4194304", "Larger bodies get 413."),
        ("MaxTokensLimit", "--max-tokens-limit", "QWEN_MAX_TOKENS_LIMIT", "(max-model-len)", "Largest max_tokens a request may ask for."),
        ("CorsOrigins", "--cors-origins", "QWEN_CORS_ORIGINS", "(none)", "Comma-separated origins allowed by CORS; * for any."),
        ("JsonLogs", "--json-logs", "QWEN_JSON_LOGS", "false", "Compact JSON log lines (for containers) instead of text."),
        ("ModelCacheDir", "--model-cache-dir", "QWEN_MODEL_CACHE", "~/.cache/qwen-server/models", "Where the demo model is built on first run."),
        ("DemoPreset", "--demo-preset", "QWEN_DEMO_PRESET", "tiny", "Random-weight preset of the demo model: tiny, small or qwen2.5-0.5b."),
    ];

    /// <summary>Exported model directory; null serves the demo model.</summary>
    public string? Model { get; init; }

    /// <summary>The model id served.</summary>
    public string? ServedModelName { get; init; }

    /// <summary>Comma-separated API keys; empty means no authentication.</summary>
    public string? ApiKeys { get; init; }

    /// <summary>KV cache slots.</summary>
    public int MaxNumSeqs { get; init; } = 8;

    /// <summary>Tokens per slot.</summary>
    public int MaxModelLen { get; init; } = 4096;

    /// <summary>Waiting queue bound.</summary>
    public int MaxWaiting { get; init; } = 64;

    /// <summary>Prompt tokens per prefill step.</summary>
    public int PrefillChunkSize { get; init; } = 256;

    /// <summary>ONNX Runtime intra-op threads (0: one per core).</summary>
    public int Threads { get; init; }

    /// <summary>cpu or cuda.</summary>
    public string ExecutionProvider { get; init; } = "cpu";

    /// <summary>GPU index.</summary>
    public int CudaDeviceId { get; init; }

    /// <summary>Optimized graph cache file.</summary>
    public string? OptimizedModelCache { get; init; }

    /// <summary>Request body limit in bytes.</summary>
    public long MaxRequestBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Largest max_tokens accepted; 0 means max_model_len.</summary>
    public int MaxTokensLimit { get; init; }

    /// <summary>CORS origins, comma-separated.</summary>
    public string? CorsOrigins { get; init; }

    /// <summary>JSON console logs.</summary>
    public bool JsonLogs { get; init; }

    /// <summary>Demo model cache directory.</summary>
    public string? ModelCacheDir { get; init; }

    /// <summary>Demo model preset.</summary>
    public string DemoPreset { get; init; } = "tiny";

    /// <summary>The parsed API keys.</summary>
    public IReadOnlyList<string> ApiKeyList => Split(ApiKeys);

    /// <summary>The parsed CORS origins.</summary>
    public IReadOnlyList<string> CorsOriginList => Split(CorsOrigins);

    /// <summary>Every problem with the settings, each naming the setting, its limit and the value given.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Range(string name, long value, long min, long max)
        {
            if (value < min || value > max)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{name} must be in [{min}, {max}] (given {value})"));
            }
        }
        Range(nameof(MaxNumSeqs), MaxNumSeqs, 1, 1024);
        Range(nameof(MaxModelLen), MaxModelLen, 16, 1 << 20);
        Range(nameof(MaxWaiting), MaxWaiting, 0, 1_000_000);
        Range(nameof(PrefillChunkSize), PrefillChunkSize, 1, 1 << 20);
        Range(nameof(Threads), Threads, 0, 1024);
        Range(nameof(CudaDeviceId), CudaDeviceId, 0, 64);
        Range(nameof(MaxRequestBodyBytes), MaxRequestBodyBytes, 1024, 1L << 31);
        Range(nameof(MaxTokensLimit), MaxTokensLimit, 0, 1 << 20);
        if (ExecutionProvider is not ("cpu" or "cuda"))
        {
            errors.Add($"ExecutionProvider must be cpu or cuda (given '{ExecutionProvider}')");
        }
        if (DemoPreset is not ("tiny" or "small" or "qwen2.5-0.5b"))
        {
            errors.Add($"DemoPreset must be tiny, small or qwen2.5-0.5b (given '{DemoPreset}')");
        }
        if (Model is not null && !Directory.Exists(Model))
        {
            errors.Add($"Model directory not found: '{Model}'");
        }
        return errors;
    }

    private static string[] Split(string? s) => string.IsNullOrWhiteSpace(s) ? [] : s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
