using System.Globalization;

namespace Qwen.OnnxExport;

/// <summary>
/// Builds random-preset models once and reuses them: tests, benchmarks and the server's demo default all call this.
/// Safe across processes: the first caller builds under a file lock, the export publishes the directory atomically.
/// </summary>
public static class RandomModelCache
{
    /// <summary>Bumped whenever the graph, the manifest or the presets' weights change, so cached models are rebuilt.</summary>
    public const int CacheVersion = 4;

    /// <summary>The default cache root: <c>$QWEN_MODEL_CACHE</c>, else <c>&lt;temp&gt;/qwen-server-models</c>.</summary>
    public static string DefaultRoot => Environment.GetEnvironmentVariable("QWEN_MODEL_CACHE") is { Length: > 0 } env ? env : Path.Combine(Path.GetTempPath(), "qwen-server-models");

    /// <summary>
    /// Where the model for this preset, precision, seed and target is (or will be) cached:
    /// <c>&lt;preset&gt;-&lt;precision&gt;[-&lt;target&gt;][-yarn&lt;factor&gt;][-demo]-seed&lt;seed&gt;-v&lt;version&gt;</c>, the target named only when it is not the precision's own.
    /// </summary>
    public static string DirectoryFor(string preset, string precision, int seed, string? cacheRoot = null, string? target = null, bool demo = false, double? yarn = null)
    {
        var suffix = target is null || ParseTarget(target) == ExportOptions.DefaultTarget(ParsePrecision(precision)) ? "" : $"-{target.ToLowerInvariant()}";
        var scaling = yarn is { } factor ? string.Create(CultureInfo.InvariantCulture, $"-yarn{factor}") : "";
        return Path.Combine(Path.GetFullPath(cacheRoot ?? DefaultRoot), $"{preset}-{precision}{suffix}{scaling}{(demo ? "-demo" : "")}-seed{seed}-v{CacheVersion}");
    }

    /// <summary>
    /// Returns the directory of the model for this preset, precision, seed and target (null: the precision's own), building it
    /// on first use; <paramref name="demo"/>: the server demo's weights (<see cref="ExportOptions.Demo"/>); <paramref name="yarn"/>:
    /// a YaRN factor written into the checkpoint's config.json (<see cref="ExportOptions.Yarn"/>), its rotary tables as long as it reaches.
    /// </summary>
    public static string GetOrCreate(string preset = "tiny", string precision = "fp32", int seed = 1234, string? cacheRoot = null, string? target = null, bool demo = false, double? yarn = null)
    {
        var p = ParsePrecision(precision);
        var t = target is null ? (Target?)null : ParseTarget(target);
        var dir = DirectoryFor(preset, precision, seed, cacheRoot, target, demo, yarn);
        Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
        if (File.Exists(Path.Combine(dir, "manifest.json")))
        {
            return dir;
        }
        using var gate = ExportCache.AcquireLock(dir);
        if (!File.Exists(Path.Combine(dir, "manifest.json")))
        {
            ExportCache.RemoveAbandoned(dir);
            ModelExporter.Export(new ExportOptions { RandomPreset = preset, Seed = seed, OutputDirectory = dir, Precision = p, Target = t, Demo = demo, Yarn = yarn, Force = true });
        }
        return dir;
    }

    /// <summary>Parses fp32, fp16 or int4.</summary>
    public static Precision ParsePrecision(string precision) => precision.ToLowerInvariant() switch
    {
        "fp32" => Precision.Fp32,
        "fp16" => Precision.Fp16,
        "int4" => Precision.Int4,
        _ => throw new ExportException($"--precision must be fp32, fp16 or int4 (given '{precision}')"),
    };

    /// <summary>Parses cpu or cuda.</summary>
    public static Target ParseTarget(string target) => target.ToLowerInvariant() switch
    {
        "cpu" => Target.Cpu,
        "cuda" => Target.Cuda,
        _ => throw new ExportException($"--target must be cpu or cuda (given '{target}')"),
    };
}
