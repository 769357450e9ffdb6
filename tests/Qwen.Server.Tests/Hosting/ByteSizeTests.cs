using Qwen.Server.Hosting;

namespace Qwen.Server.Tests.Hosting;

/// <summary>Memory sizes for KvCacheMemory, against hand-computed byte counts.</summary>
public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("2GiB", 2L * 1024 * 1024 * 1024)]
    [InlineData("512MiB", 512L * 1024 * 1024)]
    [InlineData("1.5GiB", 1536L * 1024 * 1024)]
    [InlineData("2Gi", 2L * 1024 * 1024 * 1024)]
    [InlineData("64KiB", 65536L)]
    [InlineData("1TiB", 1024L * 1024 * 1024 * 1024)]
    [InlineData("4GB", 4_000_000_000L)]
    [InlineData("250MB", 250_000_000L)]
    [InlineData("1073741824", 1073741824L)]
    [InlineData("100B", 100L)]
    [InlineData("2 gib", 2L * 1024 * 1024 * 1024)]
    [InlineData(" 8MiB ", 8L * 1024 * 1024)]
    [InlineData("0.5KiB", 512L)]
    public void TryParse_ValidSize_GivesBytes(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("GiB")]
    [InlineData("0")]
    [InlineData("0GiB")]
    [InlineData("-1GiB")]
    [InlineData("2XB")]
    [InlineData("2 gigs")]
    [InlineData("1,5GiB")]
    [InlineData("0.1B")]
    [InlineData("9999999999TiB")]
    [InlineData("99999999999999999999999999999999")]
    [InlineData("1e9")]
    [InlineData(null)]
    public void TryParse_Malformed_IsFalse(string? text)
        => Assert.False(ByteSize.TryParse(text, out _));
}
