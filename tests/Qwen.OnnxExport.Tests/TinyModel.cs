namespace Qwen.OnnxExport.Tests;

/// <summary>The random-weight models these tests use, built once per machine by the exporter's cache.</summary>
internal static class TinyModel
{
    public static string Directory(string precision = "fp32", string preset = "tiny", string? target = null) => RandomModelCache.GetOrCreate(preset, precision, seed: 1234, target: target);

    /// <summary>A fixed prompt of real-looking token ids (any ids below the vocabulary size would do).</summary>
    public static readonly int[] Prompt = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 9707, 11, 1246, 525, 498, 30, 151645, 198, 151644, 77091, 198];
}
