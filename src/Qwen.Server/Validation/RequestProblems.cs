using Qwen.Server.Errors;

namespace Qwen.Server.Validation;

/// <summary>
/// Every problem found in a request body, collected so one 400 reports them all: OpenAI's error body has one message and
/// one param, so the message lists every problem and param names the first (the field a client fixes first).
/// </summary>
internal sealed class RequestProblems
{
    private readonly List<(string? Param, string Message)> _problems = [];

    /// <summary>How many problems were found so far (a reader compares counts to know whether its part had any).</summary>
    public int Count => _problems.Count;

    /// <summary>Records a problem with <paramref name="param"/> (its full path, e.g. messages[2].content).</summary>
    public void Add(string? param, string message) => _problems.Add((param, message));

    /// <summary>Throws the 400 for the problems found, if any.</summary>
    public void ThrowIfAny()
    {
        if (_problems.Count == 0)
        {
            return;
        }
        var message = _problems.Count == 1
            ? _problems[0].Message
            : $"{_problems.Count} problems: " + string.Join("; ", _problems.Select(p => p.Message));
        throw ApiException.BadRequest(message, _problems[0].Param);
    }
}
