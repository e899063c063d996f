//! [`Guider`]: the trained guide model with its text encoder (and program decoder, when
//! loaded), which turns a problem into predictions and guides.

use std::path::Path;

use burn::prelude::*;
#[cfg(feature = "decoder")]
use synth_engine::search::{CancelToken, SearchLimits};
use synth_engine::spec::Problem;

use crate::adapt::AdaptiveLearnedGuide;
#[cfg(feature = "decoder")]
use crate::decoder::{condition, load_decoder, BeamOutcome, BeamSettings, Checker, DecodingGrammar, ProgramDecoder};
use crate::model::{
    behaviour_input, description, load_model, predict_with, read, without_description, GuideError, GuideModel,
    GuideModelConfig, Prediction,
};
use crate::pricing::{LearnedGuide, COST_SCALE, DESCRIPTION_FLOOR, PROPOSE_MIN_P};
use crate::text::TextEncoder;
use crate::trace::TraceFeatures;

/// A trained guide model with its text encoder, ready to price problems.
#[derive(Debug)]
pub struct Guider {
    model: GuideModel,
    config: GuideModelConfig,
    text: TextEncoder,
    device: Device,
    /// The program decoder, when its weights are beside the guide's.
    #[cfg(feature = "decoder")]
    decoder: Option<ProgramDecoder>,
    /// How [`crate::race::guided_search`] runs the decoder (`None`, the default: not at
    /// all; it has not yet ended a benchmark's search first, see docs/synthesis.md).
    #[cfg(feature = "decoder")]
    pub beam: Option<BeamSettings>,
    /// Cost per nat of −ln p.
    pub cost_scale: f32,
    /// Least probability at which a common constant is proposed.
    pub propose_min_p: f32,
    /// Share of the examples' probability below which a description cannot lower a
    /// label (see [`Guider::predict`]).
    pub description_floor: f32,
}

impl Guider {
    /// Loads the weights from `weights_dir` and the text encoder from its
    /// default place, onto the CPU.
    ///
    /// # Errors
    ///
    /// [`GuideError::MissingWeights`], [`GuideError::Text`] when the
    /// pretrained encoder is not installed (its message names
    /// `cargo xtask setup`), or an unreadable file.
    pub fn load(weights_dir: impl AsRef<Path>) -> Result<Guider, GuideError> {
        let device = Device::flex();
        let (model, config) = load_model(weights_dir.as_ref(), &device)?;
        let text = TextEncoder::load_default(&device)?;
        #[cfg(feature = "decoder")]
        let decoder = load_decoder(weights_dir.as_ref(), &device)?.map(|(d, _)| d);
        Ok(Guider {
            model,
            config,
            text,
            device,
            #[cfg(feature = "decoder")]
            decoder,
            #[cfg(feature = "decoder")]
            beam: None,
            cost_scale: COST_SCALE,
            propose_min_p: PROPOSE_MIN_P,
            description_floor: DESCRIPTION_FLOOR,
        })
    }

    /// Whether the program decoder was loaded (its weights are optional).
    #[cfg(feature = "decoder")]
    #[must_use]
    pub fn has_decoder(&self) -> bool {
        self.decoder.is_some()
    }

    /// Terms the program decoder proposes for `problem` (reading the examples, trace
    /// features and the description's words), each checked against the specification
    /// as `limits` would have the search check it; the first that passes is the
    /// outcome's. Nothing is proposed without a decoder or with [`Guider::beam`] unset.
    ///
    /// # Errors
    ///
    /// Examples that do not fit the signature, or a reference that does not evaluate.
    #[cfg(feature = "decoder")]
    pub fn propose(
        &self,
        problem: &Problem,
        features: &TraceFeatures,
        limits: &SearchLimits,
        cancel: &CancelToken,
    ) -> Result<BeamOutcome, GuideError> {
        let (Some(decoder), Some(settings)) = (&self.decoder, self.beam) else { return Ok(BeamOutcome::default()) };
        let checker = Checker::new(problem, limits.cegis_samples, limits.cegis_checks, limits.seed)?;
        let grammar = DecodingGrammar::for_problem(problem);
        let cond = condition(&self.model, &self.config, &[problem], &[features], &self.device)?;
        Ok(decoder.beam_search(cond, &grammar, settings, &mut |t| checker.accepts(t), cancel)?)
    }

    /// Predictions for one problem (its description, when set, is embedded).
    ///
    /// A description can lower a label's probability to [`Guider::description_floor`]
    /// (a tenth) of what the examples alone give it, no further
    /// ([`Prediction::at_least`]). The model learnt descriptions from a template
    /// grammar, and a user's phrasing can read to it otherwise: "take the text before
    /// the first comma" gives `str.indexof` p = 0.004, the examples alone 0.14. The
    /// floor keeps such a label within one cost step; the labels a description rules
    /// out still get dearer, which is most of what it is worth to the search.
    ///
    /// # Errors
    ///
    /// A tokenizer failure or examples that do not fit the signature.
    pub fn predict(&self, problem: &Problem, features: &TraceFeatures) -> Result<Prediction, GuideError> {
        let text = self.describe(problem)?;
        self.predict_with_text(problem, text.as_deref(), features)
    }

    /// [`Guider::predict`] with the description's sentence embedding made earlier
    /// (`None`: the description's words only).
    fn predict_with_text(
        &self,
        problem: &Problem,
        text: Option<&[f32]>,
        features: &TraceFeatures,
    ) -> Result<Prediction, GuideError> {
        if description(problem).is_none() {
            return predict_with(&self.model, &self.config, problem, text, features, &self.device);
        }
        // Described and bare in one batch: one forward pass.
        let bare = without_description(problem);
        let input =
            behaviour_input(&self.config, &[problem, &bare], &[text, None], &[features, features], &self.device)?;
        let mut rows = Prediction::of_batch(self.model.forward(input))?.into_iter();
        match (rows.next(), rows.next()) {
            (Some(described), Some(bare)) => Ok(described.at_least(&bare, self.description_floor)),
            _ => Err(GuideError::Output("the model gave fewer than 2 rows for a batch of 2".into())),
        }
    }

    /// A [`synth_engine::search::Guide`] for one problem.
    ///
    /// # Errors
    ///
    /// As [`Guider::predict`].
    pub fn guide_for(&self, problem: &Problem, features: &TraceFeatures) -> Result<LearnedGuide, GuideError> {
        Ok(self.learned(self.predict(problem, features)?))
    }

    /// A guide for one problem that the refinement loop can update (a gradient step on
    /// its behaviour embedding; see [`crate::adapt`]). Its prices come from that one
    /// embedding, description included, each label kept at
    /// [`Guider::description_floor`] of its probability from the examples alone (as in
    /// [`Guider::predict`]); the loop's steps may lower a label down to that floor.
    ///
    /// # Errors
    ///
    /// As [`Guider::predict`].
    pub fn adaptive_guide_for(
        &self,
        problem: &Problem,
        features: &TraceFeatures,
    ) -> Result<AdaptiveLearnedGuide, GuideError> {
        let text = self.describe(problem)?;
        let input = behaviour_input(&self.config, &[problem], &[text.as_deref()], &[features], &self.device)?;
        let lexicon = self.model.lexicon_logits(&input);
        let embedding = self.model.embed(input);
        let prediction = Prediction::of(self.model.heads(embedding.clone(), lexicon.clone()))?;
        let guide = self.learned(prediction);
        let head = self.model.label_head(lexicon.map(|l| l.squeeze_dim::<1>(0)));
        let floor = match description(problem) {
            Some(_) => {
                let bare = predict_with(
                    &self.model,
                    &self.config,
                    &without_description(problem),
                    None,
                    features,
                    &self.device,
                )?;
                Some(bare.label_probs.iter().map(|q| self.description_floor * q).collect())
            }
            None => None,
        };
        Ok(AdaptiveLearnedGuide::new(guide, head, read(embedding)?, floor, self.device.clone()))
    }

    /// A guide from a prediction, with this guider's settings.
    fn learned(&self, prediction: Prediction) -> LearnedGuide {
        LearnedGuide { prediction, cost_scale: self.cost_scale, propose_min_p: self.propose_min_p }
    }

    /// A [`synth_engine::search::Guide`] for one problem with its description's sentence embedding made
    /// earlier (see [`Guider::describe`]), or without one (`None`): the model then
    /// reads the description's words only. The sentence encoder takes ≈ 20 ms, the
    /// rest 1–3 ms, so this gives a guide that reads the description at once, and a
    /// caller that knows the description early (while a trace is captured, say) can
    /// embed it then. An embedding of the wrong size counts as none.
    ///
    /// # Errors
    ///
    /// Examples that do not fit the signature.
    pub fn guide_with_text(
        &self,
        problem: &Problem,
        text: Option<&[f32]>,
        features: &TraceFeatures,
    ) -> Result<LearnedGuide, GuideError> {
        Ok(self.learned(self.predict_with_text(problem, text, features)?))
    }

    /// The sentence embedding of the problem's description, if it has one.
    ///
    /// # Errors
    ///
    /// A tokenizer failure.
    pub fn describe(&self, problem: &Problem) -> Result<Option<Vec<f32>>, GuideError> {
        Ok(match description(problem) {
            Some(d) => self.text.embed(&[d])?.pop(),
            None => None,
        })
    }
}
