using Apache.Arrow;
using FastBertTokenizer;
using Sluice.Contracts;

namespace Sluice.Inference;

/// <summary>
/// Tokenizes a string column for a BERT-style model.
/// Emits: the input batch plus <c>input_ids</c>, <c>attention_mask</c> and <c>token_type_ids</c>,
/// each an Int64 tensor column of shape [MaxLength] (padded with [PAD], truncated with a final [SEP]).
/// Null text tokenizes as empty text ([CLS] [SEP]).
/// Fails when: the vocab file is missing (at initialization), or the text column is missing or not a string.
/// </summary>
public sealed class BertTokenizeProcessor : IBatchProcessor
{
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string TokenTypeIds = "token_type_ids";

    private readonly BertTokenizeOptions _options;

    // FastBertTokenizer does not document its Encode as thread-safe; tokenizing is ~2,000x cheaper
    // than the model (DESIGN.md §5), so concurrent calls on one actor simply take turns.
    private readonly Lock _gate = new();
    private BertTokenizer? _tokenizer;

    public BertTokenizeProcessor(BertTokenizeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    public async ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
    {
        if (!File.Exists(_options.Vocab))
            throw new BadInputException($"vocab file '{Path.GetFullPath(_options.Vocab)}' does not exist (BertTokenizeOptions.Vocab)");
        var tokenizer = new BertTokenizer();
        await tokenizer.LoadVocabularyAsync(_options.Vocab, _options.Lowercase).ConfigureAwait(false);
        _tokenizer = tokenizer;
    }

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var tokenizer = _tokenizer ?? throw new InvalidOperationException("BertTokenizeProcessor: InitializeAsync has not run");
        var text = TextColumn(batch);
        var rows = batch.Length;
        var width = _options.MaxLength;
        var ids = new long[rows * width];
        var mask = new long[rows * width];
        var types = new long[rows * width];
        lock (_gate)
        {
            for (var i = 0; i < rows; i++)
            {
                var slice = new Range(i * width, (i + 1) * width);
                tokenizer.Encode(text.GetString(i) ?? string.Empty, ids.AsSpan(slice), mask.AsSpan(slice), types.AsSpan(slice), padTo: width);
            }
        }

        int[] shape = [width];
        foreach (var (name, values) in new[] { (InputIds, ids), (AttentionMask, mask), (TokenTypeIds, types) })
        {
            var (field, array) = TensorColumns.Create(name, values, rows, shape);
            batch = ArrowBatches.WithColumn(batch, field, array);
        }
        return ValueTask.FromResult(batch);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private StringArray TextColumn(RecordBatch batch)
    {
        var index = Columns.IndexOf(batch, _options.Column);
        if (index < 0)
            throw new BadInputException($"text column '{_options.Column}' is missing (BertTokenizeOptions.Column); the batch has: {Columns.Describe(batch)}");
        return batch.Column(index) as StringArray
            ?? throw new BadInputException($"text column '{_options.Column}' is {batch.Schema.GetFieldByIndex(index).DataType.Name}, not a string column (BertTokenizeOptions.Column); the batch has: {Columns.Describe(batch)}");
    }
}
