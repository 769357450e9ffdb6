namespace Qwen.FakeHub;

/// <summary>A file of a <see cref="FakeRepo"/>.</summary>
/// <param name="Path">Repo-relative path with '/' separators.</param>
/// <param name="Size">Bytes.</param>
/// <param name="BlobId">Git blob sha1: of the bytes for a regular file, of the LFS pointer text for an LFS file.</param>
/// <param name="Sha256">The bytes' sha256 (lowercase hex) for an LFS file; null for a regular file.</param>
public sealed record FakeRepoFile(string Path, long Size, string BlobId, string? Sha256)
{
    /// <summary>Whether the file is stored in LFS (served through a 302 to the storage route).</summary>
    public bool IsLfs => Sha256 is not null;
}
