namespace Qwen.Tokenization.ToolCalls;

/// <summary>
/// Follows an opened JSON object one character at a time, string- and escape-aware, to find the character that closes
/// it: a brace or a close tag inside a string does not count. It does not check the JSON itself. A mutable struct:
/// keep it in a field, never copy it.
/// </summary>
internal struct JsonNesting
{
    private int _depth;
    private bool _inString;
    private bool _escaped;

    /// <summary>Inside an object (or array) whose opening character was just read.</summary>
    public static JsonNesting Opened() => new() { _depth = 1 };

    /// <summary>Consumes one character; true when it closes the outermost value.</summary>
    public bool Push(char c)
    {
        if (_inString)
        {
            if (_escaped)
            {
                _escaped = false;
            }
            else if (c == '\\')
            {
                _escaped = true;
            }
            else if (c == '"')
            {
                _inString = false;
            }
            return false;
        }
        if (c == '"')
        {
            _inString = true;
        }
        else if (c is '{' or '[')
        {
            _depth++;
        }
        else if (c is '}' or ']')
        {
            return --_depth == 0;
        }
        return false;
    }
}
