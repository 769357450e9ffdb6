using Microsoft.ML.OnnxRuntime;

namespace Qwen.Inference.Model;

/// <summary>
/// Caches ONNX Runtime's optimized graph on disk: the first start saves it next to a stamp of the source model's hash,
/// later starts load it directly (skipping graph optimization). The file is specific to this machine's CPU features.
/// </summary>
internal static class OptimizedModel
{
    /// <summary>Returns the path to load: the cached optimized model when valid, else the original (arranging for it to be saved).</summary>
    public static string Resolve(string modelPath, ModelManifest manifest, string? cachePath, SessionOptions options)
    {
        if (string.IsNullOrEmpty(cachePath))
        {
            return modelPath;
        }
        var stampPath = cachePath + ".source";
        var stamp = $"{manifest.Source}|{File.GetLastWriteTimeUtc(modelPath):O}|{manifest.Precision}";
        if (File.Exists(cachePath) && File.Exists(stampPath) && File.ReadAllText(stampPath) == stamp)
        {
            options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
            return cachePath;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(cachePath))!);
        options.OptimizedModelFilePath = cachePath;
        // Large models need their initializers outside the protobuf (2 GB limit).
        options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", Path.GetFileName(cachePath) + ".data");
        options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
        File.WriteAllText(stampPath, stamp);
        return modelPath;
    }
}
