"""One-line definitions of every metric, for metrics.json and the report (full text: docs/compare.md)."""

FORMULAS = {
    "flow_epe_object": "mean over visible moving-object pixels of |DIS flow - simulated flow_fwd| (px), per frame",
    "flow_epe_background": "mean over visible other pixels of |DIS flow - simulated flow_fwd| (px), per frame",
    "flow_outlier_share": "share of flow_valid pixels whose end-point error exceeds 3 px",
    "warp_error": "mean |I_{t+1}(p + flow_fwd_t(p)) - I_t(p)| over flow_valid pixels and channels (0..255)",
    "motion_iou": "IoU of the video's frame-difference motion mask and the simulation's motion mask, per frame",
    "motion_iou_spatiotemporal": "IoU of the same masks pooled over all frames (voxels)",
    "background_flicker": "mean |I_{t+1} - I_t| (0..255) over pixels the simulation keeps still",
    "depth_rank_correlation": "Spearman rho of MiDaS relative depth vs simulated inverse depth, per frame",
    "object_visibility": "share of (object, frame) pairs where the object's CIEDE2000 contrast to a ring around it "
                         "is at least half the preview's (moving and prompt-named objects, >= 64 scene px)",
    "object_color_error": "hue and chroma distance (a*b*) between the video's mean colour inside each object and its "
                          "spec colour lit by the preview's shading, per object and frame",
    "structure_similarity": "SSIM (Wang et al. 2004) of the video's luma against the preview's, per frame",
    "physics_iq_spatial_iou": "Physics-IQ: IoU of the video's and the preview's motion masks collapsed over time",
    "physics_iq_spatiotemporal_iou": "Physics-IQ: IoU of the motion masks per frame (1 where both are empty), averaged",
    "physics_iq_weighted_spatial_iou": "Physics-IQ: sum min / sum max of the masks averaged over time",
    "physics_iq_mse": "Physics-IQ: mean squared difference to the preview, intensities 0..1, per frame",
    "physics_iq_score": "Physics-IQ score: the three IoUs over their physical variance (a perturbed second simulation), "
                        "averaged, minus the MSE above its variance, x100, clipped to 0..100",
}
