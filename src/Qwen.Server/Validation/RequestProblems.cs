using System.Globalization;
using Qwen.Server.Errors;

namespace Qwen.Server.Validation;

/// <summary>
/// Every problem found in a request body, collected so one 400 reports them: OpenAI's error body has one message and
/// one param, so the message lists the problems and param names the first (the field a client fixes first). Only the
/// first <see cref="MaxListed"/> are kept and listed (each cut to <see cref="MaxMessageChars"/>), the rest counted, so a
/// body of 330,000 bad keys costs a short message and bounded memory, not a 23 MB answer (issue 14).
/// </summary>
internal sealed class RequestProblems
{
    /// <summary>How many problems the message lists in full; the rest are counted ("and 12 more").</summary>
    public const int MaxListed = 10;

    /// <summary>Characters kept of one problem's message (one that echoes a long raw value is cut).</summary>
    public const int MaxMessageChars = 300;

    private readonly List<(string? Param, string Message)> _problems = [];

    /// <summary>How many problems were found so far (a reader compares counts to know whether its part had any).</summary>
    public int Count { get; private set; }

    /// <summary>Records a problem with <paramref name="param"/> (its full path, e.g. messages[2].content).</summary>
    public void Add(string? param, string message)
    {
        Count++;
        if (_problems.Count < MaxListed)
        {
            _problems.Add((param, message.Length <= MaxMessageChars ? message : message[..MaxMessageChars] + "…"));
        }
    }

    /// <summary>Throws the 400 for the problems found, if any.</summary>
    public void ThrowIfAny()
    {
        if (Count == 0)
        {
            return;
        }
        var message = Count == 1
            ? _problems[0].Message
            : $"{Count} problems: " + string.Join("; ", _problems.Select(p => p.Message))
                + (Count > _problems.Count ? string.Create(CultureInfo.InvariantCulture, $"; and {Count - _problems.Count} more") : "");
        throw ApiException.BadRequest(message, _problems[0].Param);
    }
}
