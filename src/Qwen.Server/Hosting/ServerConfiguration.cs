namespace Qwen.Server.Hosting;

/// <summary>Feeds the "Qwen" configuration section from QWEN_* environment variables and command-line flags, then binds and validates it.</summary>
public static class ServerConfiguration
{
    /// <summary>Adds the sources (later ones win: appsettings.json, QWEN_* variables, flags) and returns the validated options.</summary>
    public static ServerOptions Load(ConfigurationManager configuration, string[] args)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var env = new Dictionary<string, string?>();
        foreach (var (key, _, variable, _, _) in ServerOptions.Settings)
        {
            if (Environment.GetEnvironmentVariable(variable) is { } value)
            {
                env[$"Qwen:{key}"] = value;
            }
        }
        configuration.AddInMemoryCollection(env);
        var switches = ServerOptions.Settings.ToDictionary(s => s.Flag, s => $"Qwen:{s.Key}");
        // Flags without a value (--json-logs) are booleans: give them "true" so the command-line provider accepts them.
        var normalized = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            normalized.Add(args[i]);
            if (args[i] == "--json-logs" && (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)))
            {
                normalized.Add("true");
            }
        }
        configuration.AddCommandLine([.. normalized], switches);
        var options = configuration.GetSection("Qwen").Get<ServerOptions>() ?? new ServerOptions();
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("invalid settings: " + string.Join("; ", errors));
        }
        return options;
    }
}
