namespace Qwen.Server.Hosting;

/// <summary>
/// The server cannot start for a reason the operator can fix (a bad setting, a missing or refused model file). Its message is
/// one line naming the setting or the file; Program.cs prints it and exits with code 1, without a stack trace.
/// </summary>
public sealed class StartupException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StartupException()
    {
    }

    /// <summary>Creates the exception with the one-line message.</summary>
    public StartupException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the one-line message and the failure it explains.</summary>
    public StartupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
