namespace Qwen.Server.Protocol;

/// <summary>OpenAI <c>model</c> object, with vLLM's <c>max_model_len</c>.</summary>
public sealed record ModelCard
{
    /// <summary>The served model id.</summary>
    public required string Id { get; init; }

    /// <summary>Always <c>model</c>.</summary>
    public string Object => "model";

    /// <summary>Unix time the model was loaded.</summary>
    public required long Created { get; init; }

    /// <summary>Always <c>qwen-server</c>.</summary>
    public required string OwnedBy { get; init; }

    /// <summary>What the id stands for (vLLM's extension): the Hugging Face repo the model was exported from, else the id itself.</summary>
    public required string Root { get; init; }

    /// <summary>The commit of <see cref="Root"/> the served export was made from (this server's extension); null when not from the Hub.</summary>
    public required string? Revision { get; init; }

    /// <summary>Tokens one sequence may hold, prompt and output together (vLLM's extension).</summary>
    public required int MaxModelLen { get; init; }

    /// <summary>The sampling defaults a request gets for the fields it leaves unset (this server's extension).</summary>
    public required GenerationConfig GenerationConfig { get; init; }

    /// <summary>
    /// The random preset the weights were made from (the demo model, or an export of a random preset), whose text is
    /// meaningless; null for trained weights (this server's extension).
    /// </summary>
    public required string? RandomWeights { get; init; }
}
