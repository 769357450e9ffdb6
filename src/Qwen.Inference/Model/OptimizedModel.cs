using Microsoft.ML.OnnxRuntime;

namespace Qwen.Inference.Model;

/// <summary>
/// Caches ONNX Runtime's optimized graph on disk: the first start saves it next to a stamp of the source model's hash,
/// later starts load it directly (skipping graph optimization). The file is specific to this machine's CPU features and
/// to the execution provider it was optimized for (ONNX Runtime fuses nodes into that provider's kernels), so the provider
/// is part of the stamp.
/// The stamp is what marks the file valid, so it is removed before ONNX Runtime rewrites the file and written (atomically)
/// only after the session has been created, that is after the optimized file is complete.
/// </summary>
internal static class OptimizedModel
{
    /// <summary>
    /// Returns the path to load: the cached optimized model when valid, else the original (arranging for it to be saved).
    /// Call <see cref="Plan.Commit"/> once the session has been created.
    /// </summary>
    public static Plan Resolve(string modelPath, ModelManifest manifest, string? cachePath, string executionProvider, SessionOptions options)
    {
        if (string.IsNullOrEmpty(cachePath))
        {
            return new Plan(modelPath, null, null);
        }
        var stampPath = cachePath + ".source";
        var stamp = $"{manifest.Source}|{File.GetLastWriteTimeUtc(modelPath):O}|{manifest.Precision}|{manifest.Target}|{executionProvider.ToLowerInvariant()}";
        if (File.Exists(cachePath) && File.Exists(stampPath) && File.ReadAllText(stampPath) == stamp)
        {
            options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
            return new Plan(cachePath, null, null);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(cachePath))!);
        File.Delete(stampPath); // the file is about to be rewritten: it is not valid until the new stamp lands
        options.OptimizedModelFilePath = cachePath;
        // Large models need their initializers outside the protobuf (2 GB limit).
        options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", Path.GetFileName(cachePath) + ".data");
        options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
        return new Plan(modelPath, stampPath, stamp);
    }

    /// <summary>What to load, and the stamp to write once ONNX Runtime has saved the optimized model (null: nothing to write).</summary>
    public sealed record Plan(string LoadPath, string? StampPath, string? Stamp)
    {
        /// <summary>Marks the freshly written optimized model valid; call after the session was created.</summary>
        public void Commit()
        {
            if (StampPath is null || Stamp is null)
            {
                return;
            }
            var temp = StampPath + ".tmp";
            File.WriteAllText(temp, Stamp);
            File.Move(temp, StampPath, overwrite: true);
        }
    }
}
