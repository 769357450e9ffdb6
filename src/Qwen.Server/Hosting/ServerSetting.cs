namespace Qwen.Server.Hosting;

/// <summary>
/// One server setting: its configuration key (also the "Qwen" section's key in appsettings.json), its command-line flag,
/// its environment variable, its default as documented, and what it means. The README's settings table is the list of these.
/// </summary>
/// <param name="Key">The configuration key and <see cref="ServerOptions"/> property, e.g. <c>MaxNumSeqs</c>.</param>
/// <param name="Flag">The command-line flag, e.g. <c>--max-num-seqs</c>.</param>
/// <param name="Env">The environment variable, e.g. <c>QWEN_MAX_NUM_SEQS</c>.</param>
/// <param name="Default">The default as the README states it.</param>
/// <param name="Meaning">What the setting does, one sentence or two.</param>
public sealed record ServerSetting(string Key, string Flag, string Env, string Default, string Meaning)
{
    /// <summary>An older environment variable still read (below <see cref="Env"/>), or null.</summary>
    public string? EnvAlias { get; init; }

    /// <summary>How messages name the setting: <c>MaxNumSeqs (--max-num-seqs, QWEN_MAX_NUM_SEQS)</c>.</summary>
    public string Label => $"{Key} ({Flag}, {Env})";
}
