using Microsoft.Extensions.Logging;
using Qwen.Inference.Engine;
using Qwen.Inference.KvCache;
using Qwen.Inference.Model;
using Qwen.OnnxExport;
using Qwen.Tokenization.Chat;
using Qwen.Tokenization.Constraints;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Server.Hosting;

/// <summary>
/// The one model this process serves: tokenizer, chat template, generation defaults and the engine. Singleton; must be disposed.
/// Loading checks the cheap files first (manifest, tokenizer, chat template, generation config) and only then loads the ONNX
/// model, so a refused template costs no model load; any failure is a <see cref="StartupException"/> naming the setting and file.
/// </summary>
public sealed class ModelHost : IAsyncDisposable
{
    /// <summary>The seed of the demo model's random weights.</summary>
    public const int DemoSeed = 1234;

    private readonly Lazy<TokenBytes> _tokenBytes;

    private ModelHost(string directory, string name, bool isDemo, QwenTokenizer tokenizer, ChatTemplate template, GenerationDefaults defaults, InferenceEngine engine, long kvBytes)
    {
        Directory = directory;
        Name = name;
        IsDemo = isDemo;
        Tokenizer = tokenizer;
        Template = template;
        Defaults = defaults;
        Engine = engine;
        KvCacheBytes = kvBytes;
        Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        ToolCallTokenId = tokenizer.GetTokenId("<tool_call>");
        _tokenBytes = new Lazy<TokenBytes>(() => TokenBytes.FromTokenizer(tokenizer)); // ~0.35 s, only once a grammar is needed
    }

    /// <summary>The model directory.</summary>
    public string Directory { get; }

    /// <summary>The served model id.</summary>
    public string Name { get; }

    /// <summary>Whether this is the random-weight demo model.</summary>
    public bool IsDemo { get; }

    /// <summary>The model's tokenizer.</summary>
    public QwenTokenizer Tokenizer { get; }

    /// <summary>The model's chat template.</summary>
    public ChatTemplate Template { get; }

    /// <summary>generation_config.json.</summary>
    public GenerationDefaults Defaults { get; }

    /// <summary>The engine.</summary>
    public InferenceEngine Engine { get; }

    /// <summary>KV cache size in bytes.</summary>
    public long KvCacheBytes { get; }

    /// <summary>Unix time the model was loaded.</summary>
    public long Created { get; }

    /// <summary>The id of <c>&lt;tool_call&gt;</c>, if the vocabulary has it.</summary>
    public int? ToolCallTokenId { get; }

    /// <summary>Every token's bytes, for grammar-constrained decoding; built on first use and shared by all requests.</summary>
    public TokenBytes TokenBytes => _tokenBytes.Value;

    /// <summary>Where the demo model is built when <see cref="ServerOptions.ModelCacheDir"/> is unset.</summary>
    public static string DefaultCacheDir => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "qwen-server", "models");

    /// <summary>Loads the configured model, or builds the demo model on first run; throws <see cref="StartupException"/> naming the setting and file.</summary>
    public static ModelHost Load(ServerOptions options, ILogger logger, Func<string, EngineOptions, IModelRunner>? runnerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var isDemo = options.Model is null;
        string dir;
        string what;
        if (options.Model is null)
        {
            var cache = Path.GetFullPath(options.ModelCacheDir ?? DefaultCacheDir);
            if (!File.Exists(Path.Combine(RandomModelCache.DirectoryFor(options.DemoPreset, "fp32", DemoSeed, cache), "manifest.json")))
            {
                logger.LogInformation(
                    "Building the demo model (preset {Preset}) into {Directory}, first run only{Duration}",
                    options.DemoPreset, cache, options.DemoPreset == "qwen2.5-0.5b" ? " (about a minute)" : "");
            }
            dir = Step($"the demo model (preset {options.DemoPreset}) in {ServerOptions.Setting(nameof(ServerOptions.ModelCacheDir)).Label} '{cache}'", () => RandomModelCache.GetOrCreate(options.DemoPreset, "fp32", DemoSeed, cache));
            what = $"the demo model '{dir}'";
        }
        else
        {
            dir = Path.GetFullPath(options.Model);
            what = $"{ServerOptions.Setting(nameof(ServerOptions.Model)).Label} '{dir}'";
            if (!File.Exists(Path.Combine(dir, "manifest.json")))
            {
                throw new StartupException($"{what} has no manifest.json: {MissingManifestHint(dir)}");
            }
        }

        var manifest = Step(what, () => ModelManifest.Load(dir));
        var tokenizer = Step(what, () => QwenTokenizer.FromDirectory(dir));
        var template = Step(what, () => ChatTemplate.FromDirectory(dir));
        var defaults = Step(what, () => GenerationDefaults.Load(dir));

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
        };
        var runner = Step(what, () => (runnerFactory ?? OnnxModelRunner.Create)(dir, engineOptions));
        var engine = new InferenceEngine(runner, engineOptions);
        var precision = runner is OnnxModelRunner ? manifest.Precision : "scripted";
        var kvCache = (runner as OnnxModelRunner)?.KvCache;
        var kvBytes = kvCache?.TotalBytes ?? 0;
        var name = options.ServedModelName ?? (isDemo ? $"qwen2.5-demo-{options.DemoPreset}" : Path.GetFileName(dir.TrimEnd('/')));
        logger.LogInformation(
            "Serving {Model} from {Directory} ({Precision}) on {ExecutionProvider}: KV cache {Slots} slots x {Tokens} tokens = {Total} tokens, {Megabytes:F0} MiB",
            name, dir, precision, options.ExecutionProvider, runner.MaxNumSeqs, runner.MaxModelLen, (long)runner.MaxNumSeqs * runner.MaxModelLen, kvBytes / 1048576.0);
        if (kvCache?.Device is { } device)
        {
            LogDeviceMemory(logger, device, kvCache.Slots, options.MaxNumSeqs);
        }
        if (isDemo)
        {
            logger.LogWarning(
                "*** DEMO MODEL: random weights (preset '{Preset}') with the real Qwen2.5 tokenizer and chat template. Its text is MEANINGLESS. " +
                "Everything else (template, tool calls, streaming, batching, metrics) is real. To serve a real model: export a Hugging Face " +
                "Qwen2.5 download with `{ExportCommand}`, then start with --model <dir>. ***",
                options.DemoPreset, ExportHint.Template());
        }
        return new ModelHost(dir, name, isDemo, tokenizer, template, defaults, engine, kvBytes);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => Engine.DisposeAsync();

    /// <summary>How the GPU's memory sized the KV cache: the reading, the utilisation, the slots it allowed and those taken.</summary>
    internal static void LogDeviceMemory(ILogger logger, DeviceMemoryBudget device, int slots, int maxNumSeqs)
        => logger.LogInformation(
            "KV cache sized from GPU memory: {FreeMiB:F0} of {TotalMiB:F0} MiB free once the weights were loaded; --gpu-memory-utilization {Utilization} leaves {BudgetMiB:F0} MiB, room for {SlotsAllowed} slots; took {Slots} (--max-num-seqs {MaxNumSeqs})",
            device.FreeBytes / 1048576.0, device.TotalBytes / 1048576.0, device.Utilization, device.BudgetBytes / 1048576.0, device.SlotsAllowed, slots, maxNumSeqs);

    private static string MissingManifestHint(string dir)
    {
        if (!File.Exists(Path.Combine(dir, "config.json")))
        {
            return "expected an onnx-export output directory (manifest.json, model.onnx, tokenizer files)";
        }
        if (!System.IO.Directory.EnumerateFiles(dir, "*.safetensors").Any())
        {
            return "it has a Hugging Face config.json but no *.safetensors weights: download the whole checkpoint, then export it with onnx-export";
        }
        var output = dir.TrimEnd('/') + "-int4";
        return $"it is a Hugging Face checkpoint (config.json, *.safetensors); export it to ONNX first: {ExportHint.Command(dir, output)}   then start with --model {ExportHint.Quote(output)}";
    }

    // Every failure reading the operator's files (or loading them into ONNX Runtime) becomes one line naming what was loaded.
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
