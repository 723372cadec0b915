using Sluice.Contracts;
using Sluice.Inference;

namespace Sluice.Jobs.Ops;

/// <summary><c>bert_tokenize</c>: WordPiece ids, mask and type ids as tensor columns (<see cref="BertTokenizeOptions"/>).</summary>
internal sealed class BertTokenizeOp() : ProcessorOp<BertTokenizeProcessor, BertTokenizeOptions>("bert_tokenize",
    // Tokenizing costs ~0.2% of a core next to the model (DESIGN.md §5): it takes no budgeted core.
    ResourceRequest.None, "BERT WordPiece tokens of a text column: input_ids, attention_mask, token_type_ids")
{
    protected override StagePlan? Plan(BertTokenizeOptions options, StageInput stage, SpecContext context)
    {
        if (!context.IsNotFetched(options.Vocab) && !File.Exists(options.Vocab))
        {
            context.Error(SpecContext.Node(stage.Node, "vocab"), $"{stage.Path}.vocab", options.Vocab,
                "the file does not exist; give the path of a BERT vocab.txt (export the built-in one with `sluice models export minilm --out models/minilm`)");
            return null;
        }
        return base.Plan(options, stage, context);
    }

    protected override IReadOnlyList<string> InputColumns(BertTokenizeOptions options) => [options.Column];

    protected override IReadOnlyList<string>? OutputColumns(BertTokenizeOptions options) => ["input_ids", "attention_mask", "token_type_ids"];
}
