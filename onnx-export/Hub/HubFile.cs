namespace Qwen.OnnxExport.Hub;

/// <summary>One file of a repo revision as the Hub lists it.</summary>
/// <param name="Path">Repo-relative path, e.g. "model-00001-of-00002.safetensors".</param>
/// <param name="Size">Size in bytes of the file's content (for an LFS file, of the object, not the pointer).</param>
/// <param name="BlobId">The git blob sha1 (of the pointer, for an LFS file); empty when read from the cache offline and unknown.</param>
/// <param name="Sha256">The LFS object's sha256 (its cache blob name); null for a regular git file.</param>
public sealed record HubFile(string Path, long Size, string BlobId, string? Sha256)
{
    /// <summary>The name of the file's blob in the cache: the sha256 for an LFS file, the git blob sha1 otherwise.</summary>
    public string Etag => Sha256 ?? BlobId;
}
