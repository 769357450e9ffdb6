namespace Qwen.Tokenization.Constraints;

/// <summary>One function a tool-call grammar may call: its name and the schema its arguments follow.</summary>
/// <param name="Name">The function's name, as the request declares it.</param>
/// <param name="Arguments">The compiled schema of its arguments (<see cref="CompiledJsonSchema.AnyObject"/> for a non-strict tool).</param>
public sealed record ToolGrammar(string Name, CompiledJsonSchema Arguments);
