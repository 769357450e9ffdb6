using Qwen.Inference.Sampling;
using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Server.Protocol;
using Qwen.Tokenization.Chat;
using Qwen.Tokenization.Constraints;

namespace Qwen.Server.Validation;

/// <summary>
/// Which grammar, if any, constrains a chat-templated generation (chat completions and the Responses API choose it here
/// alike). Forced tool calls and json_object are grammar-constrained, so they always come out well-formed (the arguments'
/// JSON schema is not enforced). A forced call wins over json_object: its arguments are a JSON object anyway.
/// </summary>
internal static class OutputGrammar
{
    /// <summary>
    /// The grammar factory for <paramref name="plan"/> and <paramref name="format"/> (type text, json_object or
    /// json_schema); null: unconstrained. Callers check the format's type first; json_schema is not supported yet.
    /// </summary>
    public static Func<ITokenConstraint>? Select(ModelHost model, ToolChoicePlan plan, IReadOnlyList<ChatTool> tools, bool parallel, ResponseFormat format)
    {
        if (format.Type == "json_schema")
        {
            throw ApiException.BadRequest("'response_format.type' must be 'text' or 'json_object' (given 'json_schema'; json_schema is not supported)", "response_format.type");
        }
        var stops = model.Defaults.EosTokenIds;
        return plan.Mode switch
        {
            "function" => () => new GrammarConstraint(TokenGrammar.NamedToolCall(model.TokenBytes, stops)),
            "required" => () => new GrammarConstraint(TokenGrammar.RequiredToolCall(model.TokenBytes, [.. tools.Select(t => t.Name)], parallel, stops)),
            _ when format.Type == "json_object" => () => new GrammarConstraint(TokenGrammar.JsonObject(model.TokenBytes, stops)),
            _ => null,
        };
    }
}
