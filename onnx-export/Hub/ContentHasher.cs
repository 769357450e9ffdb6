using System.Security.Cryptography;
using System.Text;

namespace Qwen.OnnxExport.Hub;

/// <summary>
/// The digest the Hub states for a file, computed while its bytes are written: SHA-256 of the content for an LFS file,
/// the git blob id (SHA-1 of "blob &lt;size&gt;\0" + content) for a regular one. Must be disposed.
/// </summary>
internal sealed class ContentHasher : IDisposable
{
    private readonly IncrementalHash _hash;
    private readonly byte[] _header;

    private ContentHasher(HubFile file)
    {
        if (file.Sha256 is not null)
        {
            _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            _header = [];
            Expected = file.Sha256;
        }
        else
        {
            // A git blob id covers a header naming the size, so the size listed by the Hub is part of what is checked.
#pragma warning disable CA5350 // git's object id is SHA-1: it identifies the blob, it does not protect anything.
            _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
#pragma warning restore CA5350
            _header = Encoding.ASCII.GetBytes($"blob {file.Size}\0");
            _hash.AppendData(_header);
            Expected = file.BlobId;
        }
    }

    /// <summary>The digest the Hub listed, lower-case hex.</summary>
    public string Expected { get; }

    /// <summary>"sha256" or "git blob sha1", for messages.</summary>
    public string Kind => _hash.AlgorithmName == HashAlgorithmName.SHA256 ? "sha256" : "git blob sha1";

    public static ContentHasher Create(HubFile file) => new(file);

    public void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

    /// <summary>Forgets everything appended: the download starts over from byte 0.</summary>
    public void Restart()
    {
        _hash.GetHashAndReset();
        _hash.AppendData(_header);
    }

    /// <summary>The digest of everything appended, lower-case hex.</summary>
    public string Digest() => Convert.ToHexStringLower(_hash.GetCurrentHash());

    public void Dispose() => _hash.Dispose();
}
