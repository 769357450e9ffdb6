using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Qwen.Inference.Engine;
using Qwen.Inference.KvCache;
using Qwen.Inference.Model;
using Qwen.Tokenization.Chat;
using Qwen.Tokenization.Constraints;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Server.Hosting;

/// <summary>
/// The one model this process serves: tokenizer, chat template, generation defaults and the engine. Singleton; must be disposed.
/// Loading checks the cheap files first (tokenizer, chat template, generation config) and only then loads the model through
/// <see cref="InferenceEngine.Load"/> (which reads the manifest), so a refused template costs no model load; any failure is a
/// <see cref="StartupException"/> naming the setting and file. The host knows the engine only through <see cref="ModelInfo"/>.
/// </summary>
public sealed class ModelHost : IAsyncDisposable
{
    /// <summary>The seed of the demo model's random weights.</summary>
    public const int DemoSeed = 1234;

    private readonly Lazy<TokenBytes> _tokenBytes;

    private ModelHost(string directory, string name, bool isDemo, QwenTokenizer tokenizer, ChatTemplate template, GenerationDefaults defaults, InferenceEngine engine, int maxSeqsPerRequest)
    {
        MaxSeqsPerRequest = maxSeqsPerRequest;
        Directory = directory;
        Name = name;
        IsDemo = isDemo;
        Tokenizer = tokenizer;
        Template = template;
        Defaults = defaults;
        Engine = engine;
        Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        ToolCallTokenId = tokenizer.GetTokenId("<tool_call>");
        _tokenBytes = new Lazy<TokenBytes>(() => TokenBytes.FromTokenizer(tokenizer)); // ~0.35 s, only once a grammar is needed
    }

    /// <summary>The model directory.</summary>
    public string Directory { get; }

    /// <summary>The served model id.</summary>
    public string Name { get; }

    /// <summary>The Hugging Face repo the model was exported from, as its manifest records it (a Hub export); else null.</summary>
    public string? OriginRepo { get; private init; }

    /// <summary>The commit of <see cref="OriginRepo"/> the export was made from; else null.</summary>
    public string? OriginCommit { get; private init; }

    /// <summary>The YaRN stretch of the model's positions, as its manifest records it; null for plain RoPE.</summary>
    public RopeScaling? RopeScaling { get; private init; }

    /// <summary>Whether this is the random-weight demo model.</summary>
    public bool IsDemo { get; }

    /// <summary>The random preset the weights came from (the demo's, or the one an export's manifest names); null for trained weights.</summary>
    public string? RandomPreset { get; private init; }

    /// <summary>The model's tokenizer.</summary>
    public QwenTokenizer Tokenizer { get; }

    /// <summary>The model's chat template.</summary>
    public ChatTemplate Template { get; }

    /// <summary>generation_config.json.</summary>
    public GenerationDefaults Defaults { get; }

    /// <summary>The engine.</summary>
    public InferenceEngine Engine { get; }

    /// <summary>Unix time the model was loaded.</summary>
    public long Created { get; }

    /// <summary>The id of <c>&lt;tool_call&gt;</c>, if the vocabulary has it.</summary>
    public int? ToolCallTokenId { get; }

    /// <summary>
    /// The most slots one request may hold, i.e. its largest n: <see cref="ServerOptions.MaxSeqsPerRequest"/>, or when
    /// that is 0 half the engine's slots (at least 1), so one request leaves the other half to everyone else.
    /// </summary>
    public int MaxSeqsPerRequest { get; }

    /// <summary>Every token's bytes, for grammar-constrained decoding; built on first use and shared by all requests.</summary>
    public TokenBytes TokenBytes => _tokenBytes.Value;

    /// <summary>Where the demo model is built when <see cref="ServerOptions.ModelCacheDir"/> is unset.</summary>
    public static string DefaultCacheDir => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "qwen-server", "models");

    /// <summary>
    /// Loads the configured model: a model directory, a Hugging Face repo id (downloaded and exported by
    /// <see cref="ModelSources.FetchFromHub"/>), or the demo model (<see cref="ModelSources.BuildDemo"/>); the sources are the
    /// composition root's, so only it knows the exporter. Throws <see cref="StartupException"/> naming the setting and file.
    /// <paramref name="runnerFactory"/> replaces the ONNX runner (tests use scripted runners).
    /// </summary>
    public static ModelHost Load(ServerOptions options, ILogger logger, ModelSources sources, Func<string, EngineOptions, IModelRunner>? runnerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(sources);
        var isDemo = options.ServesDemo;
        var modelLabel = ServerOptions.Setting(nameof(ServerOptions.Model)).Label;
        string dir;
        string what;
        HubModel? hub = null;
        if (isDemo)
        {
            var cache = Path.GetFullPath(options.ModelCacheDir ?? DefaultCacheDir);
            dir = Step($"the demo model (preset {options.DemoPreset}) in {ServerOptions.Setting(nameof(ServerOptions.ModelCacheDir)).Label} '{cache}'", () => sources.BuildDemo(options.DemoPreset, cache, options.ExecutionProvider, logger));
            what = $"the demo model '{dir}'";
        }
        else if (System.IO.Directory.Exists(options.Model))
        {
            dir = Path.GetFullPath(options.Model!);
            what = $"{modelLabel} '{dir}'";
            if (!File.Exists(Path.Combine(dir, "manifest.json")))
            {
                throw new StartupException($"{what} has no manifest.json: {MissingManifestHint(dir, options.ExecutionProvider)}");
            }
        }
        else
        {
            hub = Step($"{modelLabel} '{options.Model}'", () => sources.FetchFromHub(options, logger));
            if (hub is null)
            {
                var full = Path.GetFullPath(options.Model!);
                throw new StartupException($"{modelLabel} must be an existing directory or a Hugging Face repo id, org/name[@revision] (given '{options.Model}'{(full == options.Model ? "" : $", full path '{full}'")})");
            }
            dir = hub.Directory;
            what = $"{modelLabel} '{options.Model}' (exported to '{dir}')";
        }

        // The cheap checks before the model load; the engine reads the manifest again, and refuses a graph its provider cannot run.
        var manifest = Step(what, () => ModelManifest.Load(dir));
        var tokenizer = Step(what, () => QwenTokenizer.FromDirectory(dir));
        var template = Step(what, () => ChatTemplate.FromDirectory(dir));
        var defaults = Step(what, () => GenerationDefaults.Load(dir));
        if (options.GivenFrom.TryGetValue(nameof(ServerOptions.MaxModelLen), out var source))
        {
            // The engine caps MaxModelLen at the graph's max_seq_len; a value the operator asked for is refused instead of
            // quietly shrunk, and before the model load. Left at its default, the cap stands (a small model serves its own limit).
            var limit = manifest.MaxSeqLen;
            if (options.MaxModelLen > limit)
            {
                // Qwen2.5 is trained for 32K positions; the model cards' 128K is YaRN, which the exporter writes into the graph.
                var yarn = manifest.RopeScaling is null ? "; Qwen2.5 reaches 131072 with YaRN: export the checkpoint with onnx-export --yarn 4" : "";
                throw new StartupException(string.Create(CultureInfo.InvariantCulture, $"{ServerOptions.Setting(nameof(ServerOptions.MaxModelLen)).Label} must be at most the model's max_seq_len, {limit} (given {options.MaxModelLen}, from {source}; the model is {what}){yarn}"));
            }
        }

        var engineOptions = new EngineOptions
        {
            MaxNumSeqs = options.MaxNumSeqs,
            KvCacheBytes = options.KvCacheMemoryBytes, // when set, the engine derives the slot count from it
            GpuMemoryUtilization = options.GpuMemoryUtilization, // cuda without a budget: the slot count from free GPU memory
            MaxModelLen = options.MaxModelLen,
            MaxWaiting = options.MaxWaiting,
            PrefillChunkSize = options.PrefillChunkSize,
            IntraOpThreads = options.Threads,
            ExecutionProvider = options.ExecutionProvider,
            CudaDeviceId = options.CudaDeviceId,
            OptimizedModelPath = options.OptimizedModelCache,
            MaxClientLag = options.MaxClientLag,
            PrefixCaching = options.PrefixCaching,
            HugePages = options.HugePages,
            ScalePrefillChunks = options.ScalePrefillChunks,
        };
        var engine = Step(what, () => InferenceEngine.Load(dir, engineOptions, runnerFactory));
        var info = engine.Info;
        var maxSeqsPerRequest = options.MaxSeqsPerRequest == 0 ? Math.Max(1, info.Slots / 2) : options.MaxSeqsPerRequest;
        if (maxSeqsPerRequest > info.Slots)
        {
            // Only now known when a memory budget sized the slots; a cap beyond them would never be reached, so it is a mistake.
            engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw new StartupException($"{ServerOptions.Setting(nameof(ServerOptions.MaxSeqsPerRequest)).Label} must be at most the {info.Slots} KV cache slots the model was given, or 0 for half of them (given {options.MaxSeqsPerRequest})");
        }
        var name = options.ServedModelName ?? hub?.RepoId ?? (isDemo ? $"qwen2.5-demo-{options.DemoPreset}" : Path.GetFileName(dir.TrimEnd('/')));
        if (info.DeviceMemory is { } device)
        {
            LogDeviceMemory(logger, device, info.Slots, options.MaxNumSeqs);
        }
        if (options.ExecutionProvider == "cpu" && manifest.Target == "cuda")
        {
            // It runs, and right, but slowly: 0.5B preset, one sequence, int4 for the CPU decoded 2.2x faster than int4 for CUDA (bench/README.md).
            logger.LogWarning(
                "{Model} is laid out for CUDA ({Precision}, float16 activations and KV cache); the CPU runs it, more slowly than an export for the CPU (onnx-export --precision int4)",
                name, manifest.Precision);
        }
        var randomPreset = isDemo ? options.DemoPreset : SourceText(manifest, "random_preset");
        if (isDemo)
        {
            logger.LogWarning(
                "*** DEMO MODEL: random weights (preset '{Preset}') with the real Qwen2.5 tokenizer and chat template. Its text is MEANINGLESS. " +
                "Everything else (template, tool calls, streaming, batching, metrics) is real. To serve a real model: --model Qwen/Qwen2.5-0.5B-Instruct " +
                "(any Qwen2.5 repo id; downloaded and exported on first use). ***",
                options.DemoPreset);
        }
        else if (randomPreset is { } preset)
        {
            // An export of a random preset (onnx-export --random) served by path is the demo under another name: as loud.
            logger.LogWarning(
                "*** RANDOM WEIGHTS: {Directory}'s manifest.json says it was exported from the random preset '{Preset}', not a trained checkpoint. Its text is MEANINGLESS. " +
                "To serve a real model: --model Qwen/Qwen2.5-0.5B-Instruct (any Qwen2.5 repo id; downloaded and exported on first use). ***",
                dir, preset);
        }
        if (options.GivenFrom.TryGetValue(nameof(ServerOptions.Precision), out var precisionFrom) && hub is null && options.Precision != manifest.Precision)
        {
            // Only an export made here follows --precision; a directory (or the demo) is what it was exported as.
            logger.LogWarning("{Setting} {Precision} (from {Source}) applies to a Hugging Face repo id only; {Model} is {Actual}", ServerOptions.Setting(nameof(ServerOptions.Precision)).Label, options.Precision, precisionFrom, name, manifest.Precision);
        }
        return new ModelHost(dir, name, isDemo, tokenizer, template, defaults, engine, maxSeqsPerRequest)
        {
            OriginRepo = SourceText(manifest, "repo"),
            OriginCommit = SourceText(manifest, "commit"),
            RopeScaling = manifest.RopeScaling,
            RandomPreset = randomPreset,
        };
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => Engine.DisposeAsync();

    /// <summary>How the GPU's memory sized the KV cache: the reading, the utilisation, the slots it allowed and those taken.</summary>
    internal static void LogDeviceMemory(ILogger logger, DeviceMemoryBudget device, int slots, int maxNumSeqs)
        => logger.LogInformation(
            "KV cache sized from GPU memory: {FreeMiB:F0} of {TotalMiB:F0} MiB free once the weights were loaded; --gpu-memory-utilization {Utilization} leaves {BudgetMiB:F0} MiB, room for {SlotsAllowed} slots; took {Slots} (--max-num-seqs {MaxNumSeqs})",
            device.FreeBytes / 1048576.0, device.TotalBytes / 1048576.0, device.Utilization, device.BudgetBytes / 1048576.0, device.SlotsAllowed, slots, maxNumSeqs);

    private static string MissingManifestHint(string dir, string executionProvider)
    {
        if (!File.Exists(Path.Combine(dir, "config.json")))
        {
            return "expected an onnx-export output directory (manifest.json, model.onnx, tokenizer files)";
        }
        if (!System.IO.Directory.EnumerateFiles(dir, "*.safetensors").Any())
        {
            return "it has a Hugging Face config.json but no *.safetensors weights: download the whole checkpoint, then export it with onnx-export";
        }
        var output = dir.TrimEnd('/') + (executionProvider == "cuda" ? "-int4-cuda" : "-int4");
        return $"it is a Hugging Face checkpoint (config.json, *.safetensors); export it to ONNX first: {ExportHint.Command(dir, output, executionProvider)}   then start with --model {ExportHint.Quote(output)}";
    }

    /// <summary>A text field of the manifest's <c>source</c> object (where the export came from), or null.</summary>
    private static string? SourceText(ModelManifest manifest, string key)
        => manifest.Source.ValueKind == JsonValueKind.Object && manifest.Source.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // Every failure reading the operator's files (or loading the model into the engine) becomes one line naming what was loaded.
    private static T Step<T>(string what, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (Exception e) when (e is not StartupException)
        {
            throw new StartupException($"cannot load {what}: {e.Message}", e);
        }
    }
}
