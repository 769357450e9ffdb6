using Qwen.OnnxExport.Hub;
using Qwen.OnnxExport.Tests.Checkpoint;

namespace Qwen.OnnxExport.Tests.Hub;

/// <summary>HF_* variables read as huggingface_hub's constants.py reads them.</summary>
public sealed class HubSettingsTests : IDisposable
{
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    private static HubSettings From(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value);
        return HubSettings.FromEnvironment(name => map.GetValueOrDefault(name));
    }

    [Fact]
    public void FromEnvironment_NothingSet_DefaultsUnderHome()
    {
        var s = From(("HOME", "/home/u"));
        Assert.Equal("https://huggingface.co", s.Endpoint);
        Assert.Equal("/home/u/.cache/huggingface/hub", s.CacheDirectory);
        Assert.Null(s.Token);
        Assert.False(s.Offline);
    }

    [Fact]
    public void FromEnvironment_HfHubCache_WinsOverHfHome() => Assert.Equal("/c/hub", From(("HOME", "/h"), ("HF_HOME", "/hf"), ("HF_HUB_CACHE", "/c/hub")).CacheDirectory);

    [Fact]
    public void FromEnvironment_HfHome_HoldsHub() => Assert.Equal("/hf/hub", From(("HOME", "/h"), ("HF_HOME", "/hf")).CacheDirectory);

    [Fact]
    public void FromEnvironment_XdgCacheHome_HoldsHuggingface() => Assert.Equal("/x/huggingface/hub", From(("HOME", "/h"), ("XDG_CACHE_HOME", "/x")).CacheDirectory);

    [Fact]
    public void FromEnvironment_Tilde_ExpandsToHome() => Assert.Equal("/home/u/models", From(("HOME", "/home/u"), ("HF_HUB_CACHE", "~/models")).CacheDirectory);

    [Theory]
    [InlineData("https://hf-mirror.com/", "https://hf-mirror.com")]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080")]
    public void FromEnvironment_HfEndpoint_TrailingSlashTrimmed(string value, string expected) => Assert.Equal(expected, From(("HOME", "/h"), ("HF_ENDPOINT", value)).Endpoint);

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("TRUE", true)]
    [InlineData("Yes", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("no", false)]
    [InlineData("", false)]
    public void FromEnvironment_HfHubOffline_TrueWordsOnly(string value, bool expected) => Assert.Equal(expected, From(("HOME", "/h"), ("HF_HUB_OFFLINE", value)).Offline);

    [Fact]
    public void FromEnvironment_HfToken_WinsOverTokenFile()
    {
        var home = _dirs.Temp("hfhome");
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(home, "token"), "hf_file\n");
        Assert.Equal("hf_env", From(("HOME", "/h"), ("HF_HOME", home), ("HF_TOKEN", "hf_env")).Token);
    }

    [Fact]
    public void FromEnvironment_TokenFileUnderHfHome_ReadAndTrimmed()
    {
        var home = _dirs.Temp("hfhome");
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(home, "token"), "hf_file\n");
        Assert.Equal("hf_file", From(("HOME", "/h"), ("HF_HOME", home)).Token);
    }

    [Fact]
    public void FromEnvironment_HfTokenPath_WinsOverHfHomeToken()
    {
        var home = _dirs.Temp("hfhome");
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(home, "token"), "hf_home");
        File.WriteAllText(Path.Combine(home, "other"), "hf_path");
        Assert.Equal("hf_path", From(("HOME", "/h"), ("HF_HOME", home), ("HF_TOKEN_PATH", Path.Combine(home, "other"))).Token);
    }

    [Fact]
    public void FromEnvironment_EmptyHfToken_IsNoToken() => Assert.Null(From(("HOME", "/h"), ("HF_HOME", "/nonexistent-hf-home"), ("HF_TOKEN", " ")).Token);
}
