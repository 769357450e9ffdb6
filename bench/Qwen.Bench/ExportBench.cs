using Qwen.OnnxExport;

namespace Qwen.Bench;

/// <summary>Export time and peak memory of a random preset: `export --preset qwen2.5-0.5b --precision fp32|int4` (one precision per process, so peaks are separate).</summary>
internal static class ExportBench
{
    public static Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var preset = a.Get("preset", "qwen2.5-0.5b");
        var precision = a.Get("precision", "int4");
        var output = Path.Combine(Path.GetTempPath(), $"qwen-export-bench-{preset}-{precision}-{Environment.ProcessId}");
        var result = ModelExporter.Export(new ExportOptions { RandomPreset = preset, Seed = 1, OutputDirectory = output, Precision = RandomModelCache.ParsePrecision(precision), Force = true });
        var onnxBytes = new DirectoryInfo(output).GetFiles("model.onnx*").Sum(f => f.Length);
        var sourceBytes = new DirectoryInfo(Path.Combine(output, "source")).GetFiles("*.safetensors").Sum(f => f.Length);
        Console.WriteLine($"export {preset} {precision}: {result.Seconds:F1} s (includes writing the random BF16 checkpoint), peak RSS {BenchArgs.PeakRssBytes() / 1048576.0:F0} MiB, model {onnxBytes / 1048576.0:F0} MiB, source {sourceBytes / 1048576.0:F0} MiB");
        Directory.Delete(output, recursive: true);
        return Task.FromResult(0);
    }
}
