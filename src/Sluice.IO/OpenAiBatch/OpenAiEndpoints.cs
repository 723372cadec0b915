namespace Sluice.IO.OpenAiBatch;

/// <summary>The Batch API endpoints Sluice reads and answers, and what each request's body must hold.</summary>
internal static class OpenAiEndpoints
{
    public const string Embeddings = "/v1/embeddings";
    public const string ChatCompletions = "/v1/chat/completions";
    public const string Completions = "/v1/completions";

    public static readonly string[] All = [Embeddings, ChatCompletions, Completions];

    public static string Accepted => string.Join(", ", All);
}
