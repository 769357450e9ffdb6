namespace Qwen.OnnxExport;

/// <summary>Where a checkpoint came from on the Hugging Face Hub; the manifest records it, and the server lists it.</summary>
/// <param name="Repo">The repo id, org/name.</param>
/// <param name="Revision">The revision asked for: a branch, a tag or a commit.</param>
/// <param name="Commit">The commit the revision resolved to (40 hex digits).</param>
public sealed record CheckpointOrigin(string Repo, string Revision, string Commit);
