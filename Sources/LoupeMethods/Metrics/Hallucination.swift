import Foundation

// MARK: - Object hallucination: CHAIR and POPE

extension Metrics {
    /// CHAIR scores of a set of captions (Rohrbach et al. 2018), as specs/methods.md defines them.
    public struct ChairScores: Equatable {
        /// Hallucinated object mentions / all object mentions (NaN when no caption mentions any object).
        public let chairI: Double
        /// Captions with at least one hallucinated object / captions.
        public let chairS: Double
        /// Correctly mentioned objects / ground-truth objects (NaN when there are no ground-truth objects).
        public let recall: Double
        /// 1 - CHAIR_i.
        public let precision: Double
        /// Harmonic mean of precision and recall (NaN when either is NaN, 0 when both are 0).
        public let f1: Double
        /// The counts behind the ratios.
        public let mentions: Int
        public let hallucinated: Int
        public let truths: Int
        public let captions: Int
    }

    /// CHAIR over captions: `mentions[i]` are the objects caption i mentions, `truths[i]` the objects truly in its
    /// image. Each caption's mentions count as a set (an object named twice is one mention), as the method's
    /// notation ({dog, frisbee, car}) reads. Test vector: {dog, frisbee, car} vs {dog, frisbee} and {cat} vs
    /// {cat, sofa} give CHAIR_i = .25, CHAIR_s = .5, recall = .75, F1 = .75.
    public static func chair(mentions: [[String]], truths: [[String]]) throws -> ChairScores {
        try Check.nonEmpty(mentions, "mentions")
        try Check.sameCount(mentions, "mentions", truths, "truths")
        var nMentions = 0, nHallucinated = 0, nTruths = 0, nCorrect = 0, badCaptions = 0
        for (said, real) in zip(mentions, truths) {
            let s = Set(said), r = Set(real)
            let wrong = s.subtracting(r).count
            nMentions += s.count
            nHallucinated += wrong
            nTruths += r.count
            nCorrect += s.count - wrong
            if wrong > 0 { badCaptions += 1 }
        }
        let chairI = nMentions == 0 ? Double.nan : Double(nHallucinated) / Double(nMentions)
        let recall = nTruths == 0 ? Double.nan : Double(nCorrect) / Double(nTruths)
        let precision = 1 - chairI
        let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        return ChairScores(chairI: chairI, chairS: Double(badCaptions) / Double(mentions.count), recall: recall,
                           precision: precision, f1: f1, mentions: nMentions, hallucinated: nHallucinated,
                           truths: nTruths, captions: mentions.count)
    }

    /// POPE scores (Li et al. 2023): yes is the positive class.
    public struct PopeScores: Equatable {
        public let accuracy: Double
        public let precision: Double
        public let recall: Double
        public let f1: Double
        /// The fraction of answers that are yes.
        public let yesRatio: Double
    }

    /// POPE scores from gold and predicted answers (true = yes). Precision (recall) is 0 when nothing is
    /// predicted (truly) yes, as scikit-learn's default gives. Test vector: gold (y, y, n, n), predicted
    /// (y, n, y, n) give 0.5 for every score.
    public static func pope(gold: [Bool], predicted: [Bool]) throws -> PopeScores {
        try Check.nonEmpty(gold, "gold")
        try Check.sameCount(gold, "gold", predicted, "pred")
        var tp = 0, fp = 0, fn = 0, tn = 0
        for (g, p) in zip(gold, predicted) {
            switch (g, p) {
            case (true, true): tp += 1
            case (false, true): fp += 1
            case (true, false): fn += 1
            case (false, false): tn += 1
            }
        }
        let s = scores(1, tp: tp, predicted: tp + fp, support: tp + fn)
        let n = Double(gold.count)
        return PopeScores(accuracy: Double(tp + tn) / n, precision: s.precision, recall: s.recall, f1: s.f1,
                          yesRatio: Double(tp + fp) / n)
    }

    /// A free-text answer to a POPE question read as yes (true) or no: no when the first sentence (the text up
    /// to the first '.', '!', '?' or line break) contains the word "no" or "not", case-insensitively, as the
    /// POPE evaluation script does (it looks at "No", "no" and "not" among the space-separated words of the
    /// text before the first '.'). Words are runs of letters and apostrophes, so "isn't" is not "not".
    public static func popeAnswer(_ text: String) -> Bool {
        let first = text.prefix { !".!?\n".contains($0) }
        let words = first.lowercased().split { !($0.isLetter || $0 == "'") }
        return !words.contains { $0 == "no" || $0 == "not" }
    }
}
