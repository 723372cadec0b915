namespace Sluice.Inference.Generation;

/// <summary>
/// One row being generated: its tokens so far, its generator, and the check after each token (stop token, stop
/// string, max_new_tokens, the context).
/// </summary>
internal sealed class RowState(GenerationRequest request, GenerationTokenizer tokenizer, int contextLength)
{
    private readonly List<int> _tokens = [];
    private RowRandom _random = RowRandom.For(request.Settings.Seed, request.Prompt, request.RowKey);

    public GenerationRequest Request { get; } = request;

    /// <summary>Tokens in the row's KV cache: the prompt, then every generated token but the last.</summary>
    public int Cached { get; set; }

    public int Last => _tokens[^1];

    public IReadOnlyList<int> Tokens => _tokens;

    public GenerationResult? Result { get; private set; }

    public bool Done => Result is not null;

    /// <summary>Samples the next token from <paramref name="logits"/> and checks whether the row is finished.</summary>
    public void Accept(ReadOnlySpan<float> logits)
    {
        Accept(Request.Settings.Sampler.Next(logits, ref _random));
    }

    /// <summary>Takes <paramref name="token"/> as the row's next token (chosen elsewhere: GenAI) and checks whether the row is finished.</summary>
    public void Accept(int token)
    {
        var settings = Request.Settings;
        _tokens.Add(token);
        if (settings.StopTokenIds.Contains(token))
        {
            Result = new GenerationResult([.. _tokens], tokenizer.Decode(_tokens.Take(_tokens.Count - 1)), FinishReason.Stop);
            return;
        }
        string? text = null;
        if (settings.StopStrings.Count > 0)
        {
            text = tokenizer.Decode(_tokens);
            var cut = settings.StopStrings.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (cut >= 0)
            {
                Result = new GenerationResult([.. _tokens], text[..cut], FinishReason.Stop);
                return;
            }
        }
        // The next step would feed this token at position Prompt + Tokens - 1; a learned-position model has none past its context.
        if (_tokens.Count >= settings.MaxNewTokens || Request.Prompt.Count + _tokens.Count >= contextLength)
            Result = new GenerationResult([.. _tokens], text ?? tokenizer.Decode(_tokens), FinishReason.Length);
    }
}
