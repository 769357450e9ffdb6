namespace Qwen.OnnxExport;

/// <summary>What an export wrote.</summary>
/// <param name="OutputDirectory">The model directory.</param>
/// <param name="SourceSha256">SHA-256 over config.json and the safetensors files.</param>
/// <param name="Seconds">Wall time of the export.</param>
public sealed record ExportResult(string OutputDirectory, string SourceSha256, double Seconds);
