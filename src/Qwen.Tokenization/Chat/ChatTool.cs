using System.Text.Json;

namespace Qwen.Tokenization.Chat;

/// <summary>One entry of OpenAI's <c>tools</c> array: its function's name and the whole tool object as the client sent it.</summary>
/// <remarks>
/// The template writes each tool as Python's json.dumps of the object as sent: key order, unknown keys and numbers as
/// written all reach the prompt, so no typed model of a tool could keep it, and the definition stays that JSON value.
/// It is held as a parsed element rather than text so that rendering cannot fail on it; arguments are text instead
/// (<see cref="ChatToolCall.Arguments"/>) because OpenAI sends them as a string that need not be JSON.
/// </remarks>
/// <param name="Name">The function's name, which tool_choice and the forced-call grammar refer to.</param>
/// <param name="Definition">The tool object as sent. It must outlive the document it came from: pass a <see cref="JsonElement.Clone"/>.</param>
public sealed record ChatTool(string Name, JsonElement Definition);
