"""DRF endpoints for share links: thin over sharing.selectors and sharing.services."""

from datetime import timedelta

from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from chatbot.api_errors import error_responses
from conversations.api import CONV_ID, MSG_ID_2, SHARE_TOKEN
from conversations.models import Message
from conversations.selectors import (
    InvalidCursor,
    conversation_get_for_user,
    message_get_for_user,
)
from sharing import selectors, services

MAX_EXPIRY = timedelta(days=3650)
SHARE_EXAMPLE = {
    "token": SHARE_TOKEN,
    "url": f"https://chat.example.com/s/{SHARE_TOKEN}/",
    "conversation": CONV_ID,
    "message": MSG_ID_2,
    "include_context": True,
    "show_model_names": True,
    "created_at": "2026-11-21T18:30:00Z",
    "expires_at": None,
    "revoked_at": None,
    "view_count": 3,
}


class ShareOut(serializers.Serializer):
    token = serializers.CharField(help_text="The secret part of the link; also its id here.")
    url = serializers.SerializerMethodField()
    conversation = serializers.CharField(source="conversation.public_id")
    message = serializers.CharField(
        source="message.public_id", help_text="The last message the link shows."
    )
    include_context = serializers.BooleanField()
    show_model_names = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    view_count = serializers.IntegerField()

    def get_url(self, share) -> str:
        return self.context["request"].build_absolute_uri(reverse("share-view", args=[share.token]))


class SharePageOut(serializers.Serializer):
    data = ShareOut(many=True)
    has_more = serializers.BooleanField()
    next_after = serializers.CharField(allow_null=True)


class ShareIn(serializers.Serializer):
    message = serializers.CharField(
        required=False,
        help_text="Share only up to this message; by default the whole active branch.",
    )
    include_context = serializers.BooleanField(
        required=False, default=True, help_text="With `message`: show the messages before it."
    )
    show_model_names = serializers.BooleanField(required=False, default=True)
    expires_in = serializers.IntegerField(
        required=False,
        min_value=60,
        max_value=int(MAX_EXPIRY.total_seconds()),
        help_text="Seconds until the link stops working.",
    )
    expires_at = serializers.DateTimeField(required=False)


class ListQuery(serializers.Serializer):
    after = serializers.CharField(
        required=False, allow_blank=True, help_text="Cursor from the previous page's `next_after`."
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=100, default=20, help_text="Page size, 1 to 100."
    )


def parse(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ShareListView(APIView):
    @extend_schema(
        operation_id="shares_list",
        summary="List your share links, newest first",
        parameters=[ListQuery],
        responses={200: SharePageOut, **error_responses(400)},
        examples=[
            OpenApiExample(
                "Links",
                value={"data": [SHARE_EXAMPLE], "has_more": False, "next_after": None},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = parse(ListQuery, request.query_params.dict())
        try:
            page = selectors.share_list_for_user(
                user=request.user, cursor=query.get("after"), limit=query["limit"]
            )
        except InvalidCursor:
            raise serializers.ValidationError({"after": ["Invalid cursor."]}) from None
        # One query for the cut-off message ids of the whole page.
        prefetch_related_objects(
            page.items, Prefetch("message", queryset=Message.objects.only("id", "public_id"))
        )
        body = {"data": page.items, "has_more": page.next_cursor is not None}
        body["next_after"] = page.next_cursor
        return Response(SharePageOut(body, context={"request": request}).data)


class ConversationShareView(APIView):
    @extend_schema(
        operation_id="shares_create",
        summary="Create a read-only link to a snapshot of the conversation",
        request=ShareIn,
        responses={201: ShareOut, **error_responses(400, 404, 413, 429)},
        examples=[
            OpenApiExample("Share for a week", value={"expires_in": 604800}, request_only=True),
            OpenApiExample("Link", value=SHARE_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request, public_id):
        conversation = conversation_get_for_user(user=request.user, public_id=public_id)
        data = parse(ShareIn, request.data)
        message = None
        if data.get("message"):
            try:
                message = message_get_for_user(
                    user=request.user, public_id=data["message"], conversation=conversation
                )
            except Http404:
                raise serializers.ValidationError({"message": ["No such message."]}) from None
        expires_in = data.get("expires_in")
        share = services.share_create(
            user=request.user,
            conversation=conversation,
            message=message,
            include_context=data["include_context"],
            show_model_names=data["show_model_names"],
            expires_in=timedelta(seconds=expires_in) if expires_in else None,
            expires_at=data.get("expires_at"),
        )
        return Response(
            ShareOut(share, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class ShareDetailView(APIView):
    @extend_schema(
        operation_id="shares_revoke",
        summary="Revoke a share link; it answers 404 from then on",
        responses={204: None, **error_responses(404, 429)},
    )
    def delete(self, request, token):
        share = selectors.share_get_for_user(user=request.user, token=token)
        services.share_revoke(share=share)
        return Response(status=status.HTTP_204_NO_CONTENT)
