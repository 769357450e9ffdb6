using Qwen.Inference.Engine;
using Qwen.OnnxExport;
using Qwen.Tokenization.Chat;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Server.Hosting;

/// <summary>The one model this process serves: tokenizer, chat template, generation defaults and the engine. Singleton; must be disposed.</summary>
public sealed class ModelHost : IAsyncDisposable
{
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

    /// <summary>Loads the configured model, or builds the demo model on first run; checks a Hugging Face directory has been exported.</summary>
    public static ModelHost Load(ServerOptions options, ILogger logger, Func<string, EngineOptions, Inference.Model.IModelRunner>? runnerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dir = options.Model;
        var isDemo = dir is null;
        if (dir is null)
        {
            var cache = options.ModelCacheDir ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "qwen-server", "models");
            dir = RandomModelCache.GetOrCreate(options.DemoPreset, "fp32", 1234, cache);
        }
        else if (!File.Exists(Path.Combine(dir, "manifest.json")))
        {
            var hint = File.Exists(Path.Combine(dir, "config.json"))
                ? $"it looks like a Hugging Face checkpoint; export it first: dotnet run --project onnx-export -- --input {dir} --output {dir.TrimEnd('/')}-onnx --precision int4   then: --model {dir.TrimEnd('/')}-onnx"
                : "expected an onnx-export output directory (manifest.json, model.onnx)";
            throw new InvalidOperationException($"Model '{dir}' has no manifest.json: {hint}");
        }
        var engineOptions = new EngineOptions
        {
            MaxNumSeqs = options.MaxNumSeqs,
            MaxModelLen = options.MaxModelLen,
            MaxWaiting = options.MaxWaiting,
            PrefillChunkSize = options.PrefillChunkSize,
            IntraOpThreads = options.Threads,
            ExecutionProvider = options.ExecutionProvider,
            CudaDeviceId = options.CudaDeviceId,
            OptimizedModelPath = options.OptimizedModelCache,
        };
        var runner = (runnerFactory ?? Inference.Model.OnnxModelRunner.Create)(dir, engineOptions);
        var engine = new InferenceEngine(runner, engineOptions);
        var precision = runner is Inference.Model.OnnxModelRunner onnx ? onnx.Manifest.Precision : "scripted";
        var kvBytes = runner is Inference.Model.OnnxModelRunner r ? r.KvCacheBytes : 0;
        var name = options.ServedModelName ?? (isDemo ? $"qwen2.5-demo-{options.DemoPreset}" : Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')));
        logger.LogInformation(
            "Serving {Model} from {Directory} ({Precision}): KV cache {Slots} slots x {Tokens} tokens = {Total} tokens, {Megabytes:F0} MiB",
            name, dir, precision, runner.MaxNumSeqs, runner.MaxModelLen, (long)runner.MaxNumSeqs * runner.MaxModelLen, kvBytes / 1048576.0);
        if (isDemo)
        {
            logger.LogWarning(
                "*** DEMO MODEL: random weights (preset '{Preset}') with the real Qwen2.5 tokenizer and chat template. Its text is MEANINGLESS. " +
                "Everything else (template, tool calls, streaming, batching, metrics) is real. To serve a real model: export a Hugging Face " +
                "Qwen2.5 download with `dotnet run --project onnx-export -- --input <hf-dir> --output <dir> --precision int4`, then start with --model <dir>. ***",
                options.DemoPreset);
        }
        return new ModelHost(dir, name, isDemo, QwenTokenizer.FromDirectory(dir), ChatTemplate.FromDirectory(dir), GenerationDefaults.Load(dir), engine, kvBytes);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => Engine.DisposeAsync();
}
