namespace Qwen.OnnxExport.Hub;

/// <summary>Where the Hub is and how to reach it, read from the environment as huggingface_hub reads it.</summary>
public sealed record HubSettings
{
    /// <summary>The public Hub, used when HF_ENDPOINT is not set.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The Hub's base URL without a trailing '/' (HF_ENDPOINT; mirrors such as hf-mirror.com).</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>The hub cache (HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), shared with huggingface_hub.</summary>
    public required string CacheDirectory { get; init; }

    /// <summary>The access token (HF_TOKEN, else the file HF_TOKEN_PATH, else $HF_HOME/token); null for none.</summary>
    public string? Token { get; init; }

    /// <summary>HF_HUB_OFFLINE: no network call at all, the cache only.</summary>
    public bool Offline { get; init; }

    /// <summary>Reads the settings the way huggingface_hub does; <paramref name="getVariable"/> null reads the process environment.</summary>
    public static HubSettings FromEnvironment(Func<string, string?>? getVariable = null)
    {
        var get = getVariable ?? Environment.GetEnvironmentVariable;
        string? Get(string name) => get(name) is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
        var home = Get("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string Expand(string path) => path == "~" ? home : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, path[2..]) : path;

        // huggingface_hub/constants.py: HF_HOME defaults to $XDG_CACHE_HOME/huggingface, XDG_CACHE_HOME to ~/.cache;
        // HUGGINGFACE_HUB_CACHE is the legacy name of HF_HUB_CACHE.
        var hfHome = Expand(Get("HF_HOME") ?? Path.Combine(Get("XDG_CACHE_HOME") ?? Path.Combine(home, ".cache"), "huggingface"));
        var cache = Expand(Get("HF_HUB_CACHE") ?? Get("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(hfHome, "hub"));
        return new HubSettings
        {
            Endpoint = (Get("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/'),
            CacheDirectory = Path.GetFullPath(cache),
            Token = Get("HF_TOKEN") ?? Get("HUGGING_FACE_HUB_TOKEN") ?? ReadTokenFile(Expand(Get("HF_TOKEN_PATH") ?? Path.Combine(hfHome, "token"))),
            Offline = Get("HF_HUB_OFFLINE")?.ToUpperInvariant() is "1" or "TRUE" or "YES" or "ON",
        };
    }

    private static string? ReadTokenFile(string path)
    {
        try
        {
            return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } token ? token : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // huggingface_hub ignores an unreadable token file too: the repo may be public.
            return null;
        }
    }
}
