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
}
