using System.Security.Cryptography;
using System.Text;

namespace Qwen.FakeHub;

/// <summary>The ids git and git-lfs give file contents, computed by streaming (files may be gigabytes).</summary>
internal static class GitBlob
{
    /// <summary>The LFS pointer text git stores in place of a file's bytes (git-lfs spec v1).</summary>
    public static string LfsPointer(string sha256, long size) => $"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n";

    /// <summary>Git's blob id: sha1 of "blob &lt;length&gt;\0" followed by the bytes.</summary>
    public static string Sha1(byte[] bytes)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"));
        sha1.AppendData(bytes);
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    /// <summary>Git's blob id of a file on disk.</summary>
    public static string Sha1OfFile(string path)
    {
        using var file = File.OpenRead(path);
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(Encoding.ASCII.GetBytes($"blob {file.Length}\0"));
        Append(sha1, file);
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    /// <summary>The sha256 (lowercase hex) of a file on disk.</summary>
    public static string Sha256OfFile(string path)
    {
        using var file = File.OpenRead(path);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(sha256, file);
        return Convert.ToHexStringLower(sha256.GetHashAndReset());
    }

    private static void Append(IncrementalHash hash, Stream stream)
    {
        var buffer = new byte[1 << 20];
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
        }
    }
}
