using System.Globalization;
using Qwen.Inference.Engine;

namespace Qwen.Server.Hosting;

/// <summary>
/// Every server setting in one place, bound from the "Qwen" configuration section, which command-line flags
/// (<see cref="Settings"/>), QWEN_* environment variables and appsettings.json all feed. Validated at startup.
/// </summary>
public sealed record ServerOptions
{
    // The engine's defaults are the server's for every setting both have, so the two cannot disagree (a test checks
    // the README's defaults against them too).
    private static readonly EngineOptions EngineDefaults = new();

    /// <summary>The settings: key, flag, environment variable, default and meaning. The README's settings table is exactly this list (a test compares them).</summary>
    public static IReadOnlyList<ServerSetting> Settings { get; } =
    [
        new("Model", "--model", "QWEN_MODEL", "(demo model)", "What to serve: an exported model directory (onnx-export output), or a Hugging Face repo id `org/name[@revision]` (Qwen/Qwen2.5-7B-Instruct), which is downloaded into the Hugging Face cache and exported on first use (at Precision, into ModelCacheDir), then served at once on later starts. Unset or `demo`: build and serve the random-weight demo model (a directory named demo: `./demo`). A Hugging Face checkpoint directory is refused with the export command to run."),
        new("ServedModelName", "--served-model-name", "QWEN_SERVED_MODEL_NAME", "the model directory's name; for the demo `qwen2.5-demo-<preset>` (qwen2.5-demo-tiny)", "The model id clients send and /v1/models lists; for a Hugging Face repo id, the repo id (Qwen/Qwen2.5-7B-Instruct)."),
        new("ApiKeys", "--api-keys", "QWEN_API_KEYS", "(none: open)", "Comma-separated keys; when set, /v1/*, /tokenize and /detokenize need `Authorization: Bearer <key>` (constant-time comparison), and /health/ready names the model only to a caller with a key. Set but blank, or with a blank entry, is a startup error."),
        new("MaxNumSeqs", "--max-num-seqs", "QWEN_MAX_NUM_SEQS", "8", "KV cache slots: sequences decoded together."),
        new("KvCacheMemory", "--kv-cache-memory", "QWEN_KV_CACHE_MEMORY", "(off)", "KV cache budget as a size (2GiB, 512MiB, 4GB or bytes); when set, the number of slots is derived from it instead of MaxNumSeqs."),
        new("GpuMemoryUtilization", "--gpu-memory-utilization", "QWEN_GPU_MEMORY_UTILIZATION", "0.9", "cuda only, when KvCacheMemory is unset: the fraction of the GPU's memory this process may take, in (0, 1]. Once the weights are loaded the KV cache gets what is left of it (free - (1 - u) x total), at most MaxNumSeqs slots. Ignored on cpu."),
        new("MaxModelLen", "--max-model-len", "QWEN_MAX_MODEL_LEN", "4096", "Tokens per slot (prompt + output). Beyond the model's max_seq_len it is a startup error; left unset, a model whose max_seq_len is smaller serves that."),
        new("MaxWaiting", "--max-waiting", "QWEN_MAX_WAITING", "64", "Requests that may wait for a slot; beyond it 429 with Retry-After."),
        new("PrefillChunkSize", "--prefill-chunk-size", "QWEN_PREFILL_CHUNK_SIZE", "256", "Prompt tokens per prefill step, interleaved with decode steps (fewer at long contexts while others decode: ScalePrefillChunks)."),
        new("Threads", "--threads", "QWEN_THREADS", "0 (one per core)", "ONNX Runtime intra-op threads."),
        new("ExecutionProvider", "--execution-provider", "QWEN_EXECUTION_PROVIDER", "cpu", "cpu or cuda (cuda needs the GPU image)."),
        new("CudaDeviceId", "--cuda-device-id", "QWEN_CUDA_DEVICE_ID", "0", "GPU index for cuda."),
        new("OptimizedModelCache", "--optimized-model-cache", "QWEN_OPTIMIZED_MODEL_CACHE", "(off)", "File to cache ONNX Runtime's optimized graph in; reused on the next start."),
        new("MaxRequestBodyBytes", "--max-request-body-bytes", "QWEN_MAX_REQUEST_BODY_BYTES", "4194304", "Larger bodies get 413."),
        new("MaxTokensLimit", "--max-tokens-limit", "QWEN_MAX_TOKENS_LIMIT", "0 (max-model-len)", "Largest max_tokens a request may ask for."),
        new("CorsOrigins", "--cors-origins", "QWEN_CORS_ORIGINS", "(none)", "Comma-separated origins allowed by CORS; * for any."),
        new("JsonLogs", "--json-logs", "QWEN_JSON_LOGS", "false", "Compact JSON log lines (for containers) instead of text."),
        new("ModelCacheDir", "--model-cache-dir", "QWEN_MODEL_CACHE_DIR", "~/.cache/qwen-server/models", "Where the demo model is built on first run, and where the exports of Hugging Face repo ids are kept (`hub/<org>--<name>/<commit>-<precision>-v<N>`); the downloads themselves go to the Hugging Face cache (`HF_HUB_CACHE`, else `HF_HOME`/hub, else ~/.cache/huggingface/hub). `QWEN_MODEL_CACHE` (which the exporter's model cache also reads) is accepted as an alias.")
        {
            EnvAlias = "QWEN_MODEL_CACHE",
        },
        new("DemoPreset", "--demo-preset", "QWEN_DEMO_PRESET", "tiny", "Random-weight preset of the demo model: tiny, small or qwen2.5-0.5b (about a minute to build on first run)."),
        new("ProtectOperations", "--protect-operations", "QWEN_PROTECT_OPERATIONS", "false", "With ApiKeys: /metrics and /swagger need the key too, and /health/ready gives a caller without one its status alone (200 or 503). /health stays open."),
        new("MaxSeqsPerRequest", "--max-seqs-per-request", "QWEN_MAX_SEQS_PER_REQUEST", "0 (half the slots, at least 1)", "Most KV cache slots one request may hold: its `n` choices; a larger `n` gets a 400. At most the slots (a startup error beyond them)."),
        new("MaxClientLag", "--max-client-lag", "QWEN_MAX_CLIENT_LAG", "512", "Tokens a reader may fall behind a sequence; beyond it the engine ends the sequence and frees its slot (logged client_too_slow). Bounds the memory a client that stops reading can pin: about 110 KB per sequence with top_logprobs 20."),
        new("SseWriteTimeout", "--sse-write-timeout", "QWEN_SSE_WRITE_TIMEOUT", "30", "Seconds one SSE event (write and flush) may take; past it the connection is aborted, the request's sequences cancelled and the request logged client_too_slow."),
        new("MaxConcurrentPrompts", "--max-concurrent-prompts", "QWEN_MAX_CONCURRENT_PROMPTS", "the processor count", "Requests whose prompt may be rendered and tokenized at once (chat, completions, responses, /tokenize); up to MaxNumSeqs + MaxWaiting more wait for a turn, beyond that 429 with Retry-After."),
        new("SplitSpecialTokens", "--split-special-tokens", "QWEN_SPLIT_SPECIAL_TOKENS", "true", "Special-token text in chat messages (content, tool calls, tool definitions) is tokenized as plain text, so a user cannot forge `<|im_start|>` or `<tool_call>`; false maps it to the control tokens, as Hugging Face and vLLM do."),
        new("Precision", "--precision", "QWEN_PRECISION", "int4 on cpu, fp16 on cuda", "Weights of the export made from a Hugging Face repo id: fp32, fp16 or int4, laid out for the execution provider (fp32 has no CUDA layout; fp16 on cpu runs the CUDA layout, slowly). A model directory keeps the precision it was exported at, and the demo its own."),
        new("PrefixCaching", "--prefix-caching", "QWEN_PREFIX_CACHING", "true", "Automatic prefix caching: a request reuses the longest prefix of its prompt already in the KV cache (an earlier turn of the same conversation, a shared system prompt and tools, the other choices of n > 1) and prefills only the rest; responses report the reused tokens as `usage.prompt_tokens_details.cached_tokens`. Free slots keep their contents until a new sequence needs one (least recently used first). false prefills every prompt from its first token."),
        new("HugePages", "--huge-pages", "QWEN_HUGE_PAGES", "true", "On the CPU under Linux, move the weights ONNX Runtime loaded and the KV cache into 2 MB transparent huge pages at startup (a one-time copy; the startup line says how many MiB): every decode step reads all the weights, and 4 KB pages cost it TLB misses (fp32 0.5B one stream about 15% faster, bench/README.md \"Huge pages\"). Needs the host's THP in `madvise` or `always` mode; false keeps 4 KB pages. Ignored on CUDA."),
        new("ScalePrefillChunks", "--scale-prefill-chunks", "QWEN_SCALE_PREFILL_CHUNKS", "true", "While other requests decode, a long prompt's prefill chunks shrink as its context grows, each costing about what a PrefillChunkSize chunk costs at the start of a prompt (by the model's shapes: attention work grows with the context), so their stall stays near one short chunk instead of growing to seconds at 100K tokens; false keeps PrefillChunkSize at every length (the long prompt prefills sooner). A prompt prefilled while nothing decodes keeps full chunks."),
        new("Playground", "--playground", "QWEN_PLAYGROUND", "true", "The chat playground at `/`: a page, embedded in the server, that chats with the served model through the public API (streaming, sampling controls, tools, the rendered prompt); with ApiKeys it asks for a key. false: `/` answers 404 like any unknown route."),
    ];

    /// <summary>The <see cref="Model"/> value that names the demo model, so a container can choose it without unsetting a variable its image sets.</summary>
    public const string DemoModel = "demo";

    /// <summary>Exported model directory; null or <see cref="DemoModel"/> serves the demo model.</summary>
    public string? Model { get; init; }

    /// <summary>Whether the demo model is served.</summary>
    public bool ServesDemo => Model is null or DemoModel;

    /// <summary>The model id served.</summary>
    public string? ServedModelName { get; init; }

    /// <summary>Comma-separated API keys; empty means no authentication.</summary>
    public string? ApiKeys { get; init; }

    /// <summary>KV cache slots.</summary>
    public int MaxNumSeqs { get; init; } = EngineDefaults.MaxNumSeqs;

    /// <summary>KV cache budget as written (2GiB, 512MiB, bytes); null leaves the slot count to <see cref="MaxNumSeqs"/>.</summary>
    public string? KvCacheMemory { get; init; }

    /// <summary><see cref="KvCacheMemory"/> in bytes, or null when unset or malformed (<see cref="Validate"/> reports it).</summary>
    public long? KvCacheMemoryBytes => ByteSize.TryParse(KvCacheMemory, out var bytes) ? bytes : null;

    /// <summary>On cuda without <see cref="KvCacheMemory"/>: the fraction of the GPU's memory this process may take; ignored on cpu.</summary>
    public double GpuMemoryUtilization { get; init; } = EngineDefaults.GpuMemoryUtilization;

    /// <summary>Tokens per slot.</summary>
    public int MaxModelLen { get; init; } = EngineDefaults.MaxModelLen;

    /// <summary>Waiting queue bound.</summary>
    public int MaxWaiting { get; init; } = EngineDefaults.MaxWaiting;

    /// <summary>Prompt tokens per prefill step.</summary>
    public int PrefillChunkSize { get; init; } = EngineDefaults.PrefillChunkSize;

    /// <summary>ONNX Runtime intra-op threads (0: one per core).</summary>
    public int Threads { get; init; } = EngineDefaults.IntraOpThreads;

    /// <summary>cpu or cuda.</summary>
    public string ExecutionProvider { get; init; } = EngineDefaults.ExecutionProvider;

    /// <summary>GPU index.</summary>
    public int CudaDeviceId { get; init; } = EngineDefaults.CudaDeviceId;

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

    /// <summary>Weight precision of a Hub export (fp32, fp16, int4); null: int4 on cpu, fp16 on cuda (<see cref="ResolvedPrecision"/>).</summary>
    public string? Precision { get; init; }

    /// <summary>The precision a Hub export is made at: <see cref="Precision"/>, else int4 on cpu and fp16 on cuda.</summary>
    public string ResolvedPrecision => Precision ?? (ExecutionProvider == "cuda" ? "fp16" : "int4");

    /// <summary>With API keys: /metrics, /swagger and /health/ready's details need a key too.</summary>
    public bool ProtectOperations { get; init; }

    /// <summary>The settings given explicitly, each with where it came from (a flag, a variable, a file); the rest are defaults. Set by <see cref="ServerConfiguration"/>.</summary>
    internal IReadOnlyDictionary<string, string> GivenFrom { get; init; } = new Dictionary<string, string>();

    /// <summary>Most slots (choices) one request may hold; 0: half the slots, at least 1 (<see cref="ModelHost.MaxSeqsPerRequest"/> resolves it).</summary>
    public int MaxSeqsPerRequest { get; init; }

    /// <summary>Tokens a reader may be behind a sequence before the engine ends it.</summary>
    public int MaxClientLag { get; init; } = EngineDefaults.MaxClientLag;

    /// <summary>Seconds one SSE write and flush may take before the connection is aborted.</summary>
    public int SseWriteTimeout { get; init; } = 30;

    /// <summary>Requests whose prompt may be rendered and tokenized at once.</summary>
    public int MaxConcurrentPrompts { get; init; } = Environment.ProcessorCount;

    /// <summary>Whether special-token text in chat messages is tokenized as plain text (Hugging Face's split_special_tokens, for the content only).</summary>
    public bool SplitSpecialTokens { get; init; } = true;

    /// <summary>Reuse prompt prefixes already in the KV cache (the engine's <see cref="EngineOptions.PrefixCaching"/>).</summary>
    public bool PrefixCaching { get; init; } = EngineDefaults.PrefixCaching;

    /// <summary>Back the model's host memory with huge pages (the engine's <see cref="EngineOptions.HugePages"/>).</summary>
    public bool HugePages { get; init; } = EngineDefaults.HugePages;

    /// <summary>Shrink prefill chunks at long contexts while others decode (the engine's <see cref="EngineOptions.ScalePrefillChunks"/>).</summary>
    public bool ScalePrefillChunks { get; init; } = EngineDefaults.ScalePrefillChunks;

    /// <summary>Serve the chat playground at <c>/</c>.</summary>
    public bool Playground { get; init; } = true;

    /// <summary>The parsed API keys.</summary>
    public IReadOnlyList<string> ApiKeyList => Split(ApiKeys);

    /// <summary>The parsed CORS origins.</summary>
    public IReadOnlyList<string> CorsOriginList => Split(CorsOrigins);

    /// <summary>The setting named <paramref name="key"/>.</summary>
    public static ServerSetting Setting(string key) => Settings.First(s => s.Key == key);

    /// <summary>Every problem with the settings, each naming the setting, its flag and environment variable, the rule and the value given.</summary>
    public IReadOnlyList<string> Validate() => Problems().Select(p => $"{Setting(p.Key).Label} {p.Rule} (given {p.Given})").ToList();

    /// <summary>Every problem as (setting key, the rule broken: "must be in [1, 1024]", the value given).</summary>
    internal IReadOnlyList<(string Key, string Rule, string Given)> Problems()
    {
        var errors = new List<(string, string, string)>();
        void Range(string name, long value, long min, long max)
        {
            if (value < min || value > max)
            {
                errors.Add((name, string.Create(CultureInfo.InvariantCulture, $"must be in [{min}, {max}]"), value.ToString(CultureInfo.InvariantCulture)));
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
        Range(nameof(MaxSeqsPerRequest), MaxSeqsPerRequest, 0, 1024);
        if (KvCacheMemory is null && MaxSeqsPerRequest > MaxNumSeqs && MaxSeqsPerRequest <= 1024)
        {
            // Without a budget the slots are at most MaxNumSeqs, so this is known before the model loads (ModelHost checks the rest).
            errors.Add((nameof(MaxSeqsPerRequest), string.Create(CultureInfo.InvariantCulture, $"must be at most MaxNumSeqs ({MaxNumSeqs}), the KV cache slots, or 0 for half of them"), MaxSeqsPerRequest.ToString(CultureInfo.InvariantCulture)));
        }
        Range(nameof(MaxClientLag), MaxClientLag, 1, 1 << 20);
        Range(nameof(SseWriteTimeout), SseWriteTimeout, 1, 3600);
        Range(nameof(MaxConcurrentPrompts), MaxConcurrentPrompts, 1, 4096);
        if (KvCacheMemory is not null && KvCacheMemoryBytes is null)
        {
            errors.Add((nameof(KvCacheMemory), $"must be a positive size: {ByteSize.Accepted}", $"'{KvCacheMemory}'"));
        }
        if (!(GpuMemoryUtilization > 0 && GpuMemoryUtilization <= 1))
        {
            errors.Add((nameof(GpuMemoryUtilization), "must be in (0, 1]", GpuMemoryUtilization.ToString(CultureInfo.InvariantCulture)));
        }
        if (ExecutionProvider is not ("cpu" or "cuda"))
        {
            errors.Add((nameof(ExecutionProvider), "must be cpu or cuda", $"'{ExecutionProvider}'"));
        }
        if (DemoPreset is not ("tiny" or "small" or "qwen2.5-0.5b"))
        {
            errors.Add((nameof(DemoPreset), "must be tiny, small or qwen2.5-0.5b", $"'{DemoPreset}'"));
        }
        if (ApiKeys is not null && ApiKeys.Split(',').Any(string.IsNullOrWhiteSpace))
        {
            // The keys themselves stay out of the message: it goes to the log.
            errors.Add((nameof(ApiKeys), "must be comma-separated keys, none of them blank", $"{ApiKeys.Split(',').Count(string.IsNullOrWhiteSpace)} blank of {ApiKeys.Split(',').Length}"));
        }
        if (ProtectOperations && ApiKeyList.Count == 0)
        {
            errors.Add((nameof(ProtectOperations), "needs ApiKeys (--api-keys, QWEN_API_KEYS): there is no key to protect the routes with", "true"));
        }
        if (Precision is not (null or "fp32" or "fp16" or "int4"))
        {
            errors.Add((nameof(Precision), "must be fp32, fp16 or int4", $"'{Precision}'"));
        }
        else if (Precision == "fp32" && ExecutionProvider == "cuda")
        {
            errors.Add((nameof(Precision), "must be fp16 or int4 on cuda: ONNX Runtime's CUDA attention takes no float32", "'fp32'"));
        }
        return errors;
    }

    private static string[] Split(string? s) => string.IsNullOrWhiteSpace(s) ? [] : s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
