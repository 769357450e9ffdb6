namespace Qwen.Tokenization.Chat;

/// <summary>A tool call of an assistant message, which the template writes back as <c>{"name": …, "arguments": …}</c>.</summary>
/// <param name="Name">The function name, written as given.</param>
/// <param name="Arguments">
/// The arguments as the client sent them, as JSON text: OpenAI's <c>arguments</c> string as given, or an arguments
/// object's raw JSON text. Text that parses as JSON is written as the template's <c>tojson</c> writes the value Python's
/// json.loads makes of it (see <see cref="PythonJson"/>); other text (a model's malformed call) as a JSON string.
/// </param>
public sealed record ChatToolCall(string Name, string Arguments);
