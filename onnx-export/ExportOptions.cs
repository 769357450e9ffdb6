namespace Qwen.OnnxExport;

/// <summary>What to export and where: a Hugging Face directory (<see cref="InputDirectory"/>) or a random preset.</summary>
public sealed record ExportOptions
{
    /// <summary>A Hugging Face Qwen2.5 checkpoint directory; null when <see cref="RandomPreset"/> is set.</summary>
    public string? InputDirectory { get; init; }

    /// <summary>A random-weight preset (tiny, small, qwen2.5-0.5b) in place of an input directory.</summary>
    public string? RandomPreset { get; init; }

    /// <summary>Seed of the random preset.</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>With <see cref="RandomPreset"/>: the server demo's weights, which end their replies (<see cref="Checkpoint.RandomCheckpoint.Write"/>).</summary>
    public bool Demo { get; init; }

    /// <summary>With <see cref="InputDirectory"/>: the Hub repo and commit it was downloaded from, recorded in the manifest.</summary>
    public CheckpointOrigin? Origin { get; init; }

    /// <summary>The model directory to write.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Weight precision.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>The execution provider the graph is laid out for; null means the precision's own (<see cref="DefaultTarget"/>).</summary>
    public Target? Target { get; init; }

    /// <summary>
    /// The target a precision is laid out for unless told otherwise: fp16 exists for CUDA, fp32 and int4 for the CPU
    /// (int4 for CUDA is <c>--precision int4 --target cuda</c>).
    /// </summary>
    public static Target DefaultTarget(Precision precision) => precision == Precision.Fp16 ? OnnxExport.Target.Cuda : OnnxExport.Target.Cpu;

    /// <summary>Longest sequence the graph supports (rows of the rotary tables); default min(max_position_embeddings, 32768), or factor × original with YaRN.</summary>
    public int? MaxSeqLen { get; init; }

    /// <summary>
    /// YaRN: null keeps config.json's rope_scaling; 0 exports without it (the trained context); a factor of at least 1
    /// applies what Qwen2.5's model cards say to add, that factor over max_position_embeddings (a random preset's
    /// config.json gets it written in, so its reference reads it too).
    /// </summary>
    public double? Yarn { get; init; }

    /// <summary>For int4: weights per quantization block along K (16, 32, 64, 128 or 256).</summary>
    public int Int4BlockSize { get; init; } = DefaultInt4BlockSize;

    /// <summary>The default <see cref="Int4BlockSize"/>: the finest block, which rounds least.</summary>
    public const int DefaultInt4BlockSize = 32;

    /// <summary>The block sizes MatMulNBits takes (a power of two from 16 to 256).</summary>
    public static bool IsValidInt4BlockSize(int size) => size is 16 or 32 or 64 or 128 or 256;

    /// <summary>
    /// Candidates per row in candidates.onnx (the K of its TopK): at least <see cref="MinCandidates"/>, at most the vocabulary.
    /// </summary>
    public int Candidates { get; init; } = DefaultCandidates;

    /// <summary>The default <see cref="Candidates"/>: a few hundred bytes per row, and far more than the Qwen2.5 default top_k 20.</summary>
    public const int DefaultCandidates = 64;

    /// <summary>The fewest <see cref="Candidates"/>: top_logprobs asks for up to 20 alternatives (OpenAI's limit).</summary>
    public const int MinCandidates = 20;

    /// <summary>Replace an existing output directory.</summary>
    public bool Force { get; init; }

    /// <summary>Float32 bytes of checkpoint rows streamed per step; tests force tiny chunks to prove the output does not depend on it.</summary>
    internal int ChunkBytes { get; init; } = Graph.GraphSettings.DefaultChunkBytes;

    /// <summary>Free bytes on the drive holding a path; tests replace the drive's reading to see a full disk refused.</summary>
    internal Func<string, long> FreeBytes { get; init; } = path => new DriveInfo(Path.GetPathRoot(Path.GetFullPath(path))!).AvailableFreeSpace;

    /// <summary>For int4: quantize lm_head as well (the default), or keep it float32; the bench measures both.</summary>
    internal bool Int4LmHead { get; init; } = true;

    /// <summary>gate_proj and up_proj as one MatMul (<see cref="Graph.GraphSettings.FusedGateUp"/>); null: the precision's default. Tests and the bench set both.</summary>
    internal bool? FusedGateUp { get; init; }
}
