namespace Qwen.OnnxExport;

/// <summary>How far an export is: bytes done out of the total of its current phase.</summary>
/// <param name="Phase">"hashing" (the checkpoint files are hashed for the manifest) or "writing" (weights streamed into model.onnx.data).</param>
/// <param name="Done">Bytes done in this phase.</param>
/// <param name="Total">Bytes of this phase.</param>
public sealed record ExportProgress(string Phase, long Done, long Total)
{
    /// <summary>Done / Total in [0, 1].</summary>
    public double Fraction => Total <= 0 ? 1 : Math.Clamp((double)Done / Total, 0, 1);
}
